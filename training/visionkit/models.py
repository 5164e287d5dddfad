"""Network definitions.

Every network's ``forward`` returns exactly the tensors its ONNX graph exposes, in
the order of the graph outputs, so export needs no wrapper (except the one-step
caption decoder, which has its own module).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    """A ``kernel x kernel`` convolution (same padding), batch norm and ReLU."""
    return [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2 if stride == 1 else 1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class LeNet(nn.Module):
    """LeNet-style classifier for 1x28x28 inputs.

    conv 5x5 1->8 (28->24), ReLU, max-pool 2 (->12x12x8); conv 5x5x8 ->16 with
    padding 2 (->12x12x16), ReLU, max-pool 3 (->4x4x16); fully connected 256->10.
    The penultimate feature is the flattened 256-vector.
    """

    feature_dim = 256

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.fc = nn.Linear(256, 10)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(F.relu(self.conv1(image)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 3)
        features = torch.flatten(x, 1)
        return self.fc(features), features


class FashionCNN(nn.Module):
    """VGG-style classifier for 1x28x28 inputs with batch norm.

    [conv 32, conv 32] pool -> 14x14, [conv 64, conv 64] pool -> 7x7, [conv 128]
    pool -> 3x3, dropout 0.2, fully connected 1152->256 + ReLU (the feature vector),
    dropout 0.2, fully connected 256->10.
    """

    feature_dim = 256

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn_relu(1, 32), *conv_bn_relu(32, 32), nn.MaxPool2d(2),
            *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2),
            *conv_bn_relu(64, 128), nn.MaxPool2d(2),
        )
        self.embed = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(128 * 9, 256),
                                   nn.ReLU(inplace=True))
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(256, 10)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.embed(self.body(image))
        return self.fc(self.drop(features)), features
