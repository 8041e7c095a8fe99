"""Wang et al.'s classical LeNet and the paper's quantum LeNet (PAPER.md), built from config.

Both share the convolutional trunk C1 -> C2 -> F1. The classical head is F2 (120->84) ->
ReLU -> F3 (84->classes). The quantum head is F2 (120 -> 2**n_qubits, no ReLU) -> QNN ->
fc3 (n_qubits -> classes), mixed with a ReLU(fc_res(F2)) residual branch by a trainable
alpha, then fc_final (classes -> classes).

Extensions (config model_variants): angle embedding (F2: 120 -> n_qubits), 4x4
Hermitian observables on qubit pairs, a quanvolutional layer in place of C1, and the
frozen circuit (which only changes what distillation trains, training.split_parameters).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import DatasetSpec, ModelSpec
from .circuits import QUANV_QUBITS
from .quantum import QuantumLayer, QuanvolutionLayer
from .rng import generator


class LeNetTrunk(nn.Module):
    """C1: conv 5x5 (padding 2 for 28 px) -> ReLU -> pool; C2: conv 5x5 -> ReLU -> pool; F1.
    ReLU is applied after the pooling: max and ReLU commute exactly (ReLU is monotone), in
    value and in gradient, and the ReLU then touches a quarter of the values.

    With `quanv` (a QuanvolutionLayer), C1 is the quanvolution: 2x2 patches, stride 2, 4
    channels per input channel, at half the image size (its own downsampling, no pool):
    28 px -> 14 -> C2 -> 5 x 5 as before; 32 px -> 16 -> C2 -> 6 x 6."""

    def __init__(self, channels: int, image_size: int, quanv: QuanvolutionLayer | None = None):
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(f"LeNet takes 28 or 32 px images, got {image_size}")
        self.channels, self.image_size = channels, image_size
        if quanv is None:
            self.conv1 = nn.Conv2d(channels, 6, 5, padding=2 if image_size == 28 else 0)
            c1_channels, c1_size = 6, 14
        else:
            self.quanv = quanv
            c1_channels, c1_size = QUANV_QUBITS * channels, image_size // 2
        self.conv2 = nn.Conv2d(c1_channels, 16, 5)
        self.fc1 = nn.Linear(16 * ((c1_size - 4) // 2) ** 2, 120)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (self.channels, self.image_size, self.image_size):
            raise ValueError(f"expected images of shape (B, {self.channels}, {self.image_size}, "
                             f"{self.image_size}), got {tuple(x.shape)}")
        if hasattr(self, "quanv"):
            out = self.quanv(x)
        else:
            # Channels-last activations: oneDNN's convolutions and max pooling of 3-channel
            # images run faster in that layout (bench: 0.8x the CPU time of a CIFAR-10
            # iteration); a 1-channel image has the same layout either way.
            x = x.contiguous(memory_format=torch.channels_last)
            out = F.relu(F.max_pool2d(self.conv1(x), 2))
        out = F.relu(F.max_pool2d(self.conv2(out), 2))
        return F.relu(self.fc1(out.flatten(1)))


class LeNet(nn.Module):
    """Wang et al.'s LeNet (model id `classical`)."""

    def __init__(self, channels: int, image_size: int, num_classes: int):
        super().__init__()
        self.trunk = LeNetTrunk(channels, image_size)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(self.trunk(x))))


class QuantumLeNet(nn.Module):
    """The quantum LeNet: logits = fc_final(a * fc3(q) + (1 - a) * ReLU(fc_res(h))).

    h is the F2 output (2**n_qubits features, no ReLU), q the QNN's n_qubits expectation
    values and a a trainable scalar starting at 0.5. Without the residual branch the
    logits are fc_final(fc3(q)).
    """

    def __init__(self, channels: int, image_size: int, num_classes: int, n_qubits: int,
                 n_layers: int, observable: str, residual: bool, qnn_backend: str = "fast",
                 embedding: str = "amplitude", quanv: QuanvolutionLayer | None = None):
        super().__init__()
        self.trunk = LeNetTrunk(channels, image_size, quanv)
        self.qnn = QuantumLayer(n_qubits, n_layers, observable, qnn_backend, embedding)
        self.fc2 = nn.Linear(120, self.qnn.n_features)
        self.fc3 = nn.Linear(n_qubits, num_classes)
        self.residual = residual
        if residual:
            self.fc_res = nn.Linear(self.qnn.n_features, num_classes)
            self.alpha = nn.Parameter(torch.tensor(0.5))
        self.fc_final = nn.Linear(num_classes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc2(self.trunk(x))
        mixed = self.fc3(self.qnn(h))
        if self.residual:
            mixed = torch.lerp(F.relu(self.fc_res(h)), mixed, self.alpha)  # one op, not four
        return self.fc_final(mixed)


# The angles of the QNN (a trainable quanvolution filter is not "the circuit" here).
CIRCUIT_PARAMETERS = ("qnn.angles",)


def stays_at_init(name: str, frozen_circuit: bool) -> bool:
    """Whether training leaves the parameter `name` at its initial value: the circuit angles
    of a frozen circuit (config freeze_circuit or the model's frozen_circuit)."""
    return frozen_circuit and name in CIRCUIT_PARAMETERS


def build_model(model: ModelSpec, dataset: DatasetSpec, qnn_backend: str = "fast") -> nn.Module:
    if model.kind == "classical":
        return LeNet(dataset.channels, dataset.image_size, dataset.num_classes)
    if model.kind == "quantum":
        quanv = None
        if model.front_end == "quanvolution":
            quanv = QuanvolutionLayer(model.quanv_layers, model.quanv_trainable, qnn_backend)
        return QuantumLeNet(dataset.channels, dataset.image_size, dataset.num_classes,
                            model.n_qubits, model.n_layers, model.observable, model.residual,
                            qnn_backend, model.embedding, quanv)
    raise ValueError(f"model {model.model_id!r}: unknown kind {model.kind!r}")


def reset_parameters(net: nn.Module, seed: int) -> None:
    """The fixed initialisation theta0 of a seed, as Wang et al.: xavier-normal (gain 1)
    conv and linear weights, zero biases; QNN as QuantumLayer.reset_parameters; a
    quanvolution filter at random angles; alpha 0.5.

    Every layer draws from its own stream, named after the layer (rng.generator), so
    variants of a seed start from the same weights wherever their layers coincide (the
    ablations are paired), and the global RNG is neither used nor disturbed."""
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_normal_(module.weight, gain=1.0,
                                       generator=generator(seed, f"init/{name}"))
                nn.init.zeros_(module.bias)
            elif isinstance(module, QuantumLayer):
                module.reset_parameters(generator(seed, f"init/{name}.angles"),
                                        generator(seed, f"init/{name}.observables"))
            elif isinstance(module, QuanvolutionLayer):
                module.reset_parameters(generator(seed, f"init/{name}.angles"))
            if isinstance(module, QuantumLeNet) and module.residual:
                module.alpha.fill_(0.5)


def make_network(model: ModelSpec, dataset: DatasetSpec, seed: int, qnn_backend: str = "fast",
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> nn.Module:
    """build_model + reset_parameters(seed), on the device and dtype wanted."""
    net = build_model(model, dataset, qnn_backend)
    reset_parameters(net, seed)
    return net.to(device=device, dtype=dtype)


def quantum_parameter_counts(net: nn.Module, frozen_circuit: bool = False) -> dict[str, int]:
    """Real degrees of freedom that training changes in the circuits: QNN angles, observables
    (a d x d Hermitian has d**2, half of its raw entries) and the quanvolution filter."""
    counts = {"circuit_angles": 0, "observables": 0, "quanvolution": 0}
    for name, p in net.named_parameters():
        if name in CIRCUIT_PARAMETERS:
            counts["circuit_angles"] += 0 if stays_at_init(name, frozen_circuit) else p.numel()
        elif name.endswith("observable_raw"):
            counts["observables"] += p.numel() // 2
        elif name.startswith("trunk.quanv."):
            counts["quanvolution"] += p.numel()
    return counts
