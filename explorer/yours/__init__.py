"""Your model: a user's MNIST classifier, loaded safely, probed for its contract, diagnosed.

    formats   what an uploaded file is (ONNX, state dict, safetensors; pickles and TorchScript
              refused with the export call that would work), size limits
    sandbox   ONNX models run in a worker process with memory and time limits
    contract  how to feed the model and read its outputs (layout, scale, label order)
    probe     works the contract out by running the model on MNIST test digits
    diagnose  findings with ids, evidence and fixes (softmax-output, untrained, ...)
"""
