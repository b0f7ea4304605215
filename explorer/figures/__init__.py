"""Plotly figures from numbers, grouped by what they draw. No Streamlit, no model, no maths.

Probabilities, sweeps and bins are computed elsewhere (explorer.maths.confidence,
explorer.maths.calibration, ...) and arrive here as arrays; each function returns a go.Figure
built from plain dicts by base.figure(), without plotly's slow validation.

    base         figure(), colours, shared layout pieces (lines, grids, image axes)
    outputs      per-class bars: logits, softmax, sigmoid, probabilities, the exhibit's bound
    temperature  softmax, entropy and margin against T
    images       28×28 images, saliency and feature maps, hidden units
    calibration  reliability diagram, confusion and agreement maps
    training     loss and accuracy per epoch
    robustness   probabilities as a distortion sweeps
    explorer     explorer_figures(): every figure of the Explorer page in one call
"""
