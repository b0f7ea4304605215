"""Digit classifiers: (N, 1, 28, 28) images in [0, 1] in, raw outputs (N, 10) out.

What each one's outputs mean is said by its entry in explorer.model.registry.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
N_CLASSES = 10


class Normalize(nn.Module):
    """MNIST normalisation inside the model, so no caller can forget it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


@dataclass(frozen=True)
class MLPConfig:
    hidden1: int = 96
    hidden2: int = 256
    dropout: float = 0.2


@dataclass(frozen=True)
class CNNConfig:
    conv1: int = 32
    conv2: int = 64
    hidden: int = 128
    dropout1: float = 0.25
    dropout2: float = 0.5


class MLP(nn.Module):
    """The tutorial network: 784 -> 96 tanh -> 256 sigmoid -> 10 logits."""

    def __init__(self, cfg: MLPConfig, final_softmax: bool = False):
        super().__init__()
        layers: list[nn.Module] = [
            Normalize(), nn.Flatten(),
            nn.Linear(28 * 28, cfg.hidden1), nn.Tanh(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden1, cfg.hidden2), nn.Sigmoid(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden2, N_CLASSES),
        ]
        if final_softmax:
            # NB: the double-softmax teaching exhibit. CrossEntropyLoss will softmax
            # these probabilities again, which squashes gradients and confidences.
            layers.append(nn.Softmax(dim=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, 10)


class CNN(nn.Module):
    """The classic pytorch/examples MNIST CNN."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.norm = Normalize()
        self.conv1 = nn.Conv2d(1, cfg.conv1, 3, 1)
        self.conv2 = nn.Conv2d(cfg.conv1, cfg.conv2, 3, 1)
        self.dropout1 = nn.Dropout(cfg.dropout1)
        self.dropout2 = nn.Dropout(cfg.dropout2)
        self.fc1 = nn.Linear(cfg.conv2 * 12 * 12, cfg.hidden)
        self.fc2 = nn.Linear(cfg.hidden, N_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """First convolution's activations, (N, conv1, 26, 26)."""
        return torch.relu(self.conv1(self.norm(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(self.features(x)))  # (N, 64, 24, 24)
        x = self.dropout1(torch.max_pool2d(x, 2))  # (N, 64, 12, 12)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))  # (N, 128)
        return self.fc2(self.dropout2(x))  # (N, 10)


@dataclass(frozen=True)
class HeadCNNConfig:
    conv1: int = 16
    conv2: int = 32
    hidden: int = 64
    outputs: int = N_CLASSES  # 10 logits, 2 logits, 1 logit or 1 number: the task says
    width: int = 28  # 56 for the two-digit input: two 28×28 halves side by side
    dropout1: float = 0.25
    dropout2: float = 0.5


class HeadCNN(nn.Module):
    """A small CNN for the output-heads lesson: (N, 1, 28, width) in, `outputs` raw numbers out.

    NB: what the outputs mean (logits for softmax or sigmoid, or a number) is the
    registry's `task`, never decided here.
    """

    def __init__(self, cfg: HeadCNNConfig):
        super().__init__()
        self.width = cfg.width
        self.norm = Normalize()
        self.conv1 = nn.Conv2d(1, cfg.conv1, 3, 1)
        self.conv2 = nn.Conv2d(cfg.conv1, cfg.conv2, 3, 1)
        self.dropout1 = nn.Dropout(cfg.dropout1)
        self.dropout2 = nn.Dropout(cfg.dropout2)
        self.fc1 = nn.Linear(cfg.conv2 * 12 * ((cfg.width - 4) // 2), cfg.hidden)
        self.fc2 = nn.Linear(cfg.hidden, cfg.outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(self.norm(x)))  # (N, c1, 26, width - 2)
        x = torch.relu(self.conv2(x))  # (N, c2, 24, width - 4)
        x = self.dropout1(torch.max_pool2d(x, 2))  # (N, c2, 12, (width - 4) / 2)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))  # (N, hidden)
        return self.fc2(self.dropout2(x))  # (N, outputs)


@dataclass(frozen=True)
class OneNumberConfig(HeadCNNConfig):
    outputs: int = 1  # a regression's number, or the binary sigmoid's one logit


@dataclass(frozen=True)
class TwoLogitsConfig(HeadCNNConfig):
    outputs: int = 2  # the binary softmax's [not 7, 7] logits


@dataclass(frozen=True)
class TwoDigitConfig(HeadCNNConfig):
    width: int = 56  # two 28×28 halves side by side
