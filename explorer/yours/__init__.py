"""Your model: a user's MNIST classifier, loaded safely, probed for its contract, diagnosed.

    formats    what a file is (ONNX, state dict, safetensors; pickles and TorchScript refused
               with the export call that would work), size and count limits
    statedict  a state dict's shapes matched to networks this code builds, in variants
    sandbox    ONNX models in a worker process with memory and time limits (sandbox_child.py
               is the child; workers.py starts, bounds and stops the processes)
    contract   how to feed the model and read its outputs (layout, scale, label order)
    probe      works the contract out by running the model on MNIST test digits
    diagnose   the test-set figures and the findings (findings.py: each check)
    opened     one path for the app and scripts/diagnose.py: open a file, and make a
               diagnosed model one of the app's models (YourModel, a LoadedModel)
"""
