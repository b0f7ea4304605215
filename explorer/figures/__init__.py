"""Plotly figures from numbers, grouped by what they draw. No Streamlit, no model.

Figures take numbers computed elsewhere (explorer.maths: sweeps, bins, probabilities) and
return a go.Figure built from plain dicts by base.figure(), without plotly's slow validation.
NB: the Explorer's own bar charts take logits and a T and call explorer.maths.confidence's
softmax and sigmoid themselves, so each chart is one call from the same numbers the browser
gets; no figure holds maths of its own.

    base         figure(), colours, shared layout pieces (lines, grids, image axes), to_json
    outputs      per-class bars: logits, softmax, sigmoid, probabilities, the exhibit's bound
    temperature  softmax, entropy and margin against T
    images       28×28 images, attributions and feature maps, hidden units
    calibration  reliability diagram, confusion and agreement maps
    training     loss and accuracy per epoch
    robustness   probabilities as a distortion sweeps
    conformal    prediction sets, coverage, risk against coverage
    heads        the output heads' figures
    replay       one drawing through training snapshots, with a slider
    explorer     the Explorer's live panel: PANEL (one row per chart), explorer_figures()
"""
