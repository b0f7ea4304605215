"""What goes into a model: canvas and upload preprocessing, MNIST, augmentation, drawn sets."""
