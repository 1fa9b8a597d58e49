"""Training checkpoints: one safetensors file (G, G_ema, D, both Adam states, the RNG) whose metadata
holds the JSON run state; a readable copy of that state goes to state.json. Both writes are atomic
(vjgan.files: a temporary file in the same folder, fsync, rename), so an interruption never leaves
half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from vjgan.errors import VjganError
from vjgan.files import atomic_path, atomic_write_text
from vjgan.train.losses import GanModels

CHECKPOINT_NAME = "checkpoint.safetensors"
STATE_NAME = "state.json"
FORMAT_NAME = "vjgan-train-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "vjgan-train"


def save_checkpoint(folder: Path, models: GanModels, state: dict[str, Any]) -> Path:
    """Write folder/checkpoint.safetensors and folder/state.json; `state` must be JSON-able."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in models.modules().items():
        for key, value in module.state_dict().items():
            tensors[f"{name}/{key}"] = value
    for name, opt in models.optimizers().items():
        for idx, slots in opt.state_dict()["state"].items():
            for slot, value in slots.items():
                tensors[f"{name}/{idx}/{slot}"] = torch.as_tensor(value).reshape([])  if slot == "step" else value
    tensors["rng/torch"] = torch.get_rng_state()
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    header = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, **state}, sort_keys=True)
    path = folder / CHECKPOINT_NAME
    with atomic_path(path, what="the training checkpoint") as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: header})
    atomic_write_text(folder / STATE_NAME, json.dumps(json.loads(header), indent=2) + "\n", what="the run state")
    return path


def read_state(path: Path) -> dict[str, Any]:
    """The JSON run state of a checkpoint file (VjganError if it is not one)."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise VjganError(f"{path}: not a readable training checkpoint ({exc}); delete it to start over") from None
    try:
        state = json.loads(metadata[METADATA_KEY])
    except (KeyError, json.JSONDecodeError):
        raise VjganError(f"{path}: no training state in this checkpoint; delete it to start over") from None
    if state.get("format") != FORMAT_NAME or not isinstance(state.get("version"), int):
        raise VjganError(f"{path}: not a vjgan training checkpoint; delete it to start over")
    if state["version"] > FORMAT_VERSION:
        raise VjganError(f"{path}: checkpoint version {state['version']} is newer than this vjgan; upgrade vjgan")
    return state


def load_checkpoint(path: Path, models: GanModels) -> None:
    """Copy the networks, optimiser states and RNG state of checkpoint `path` into `models` / torch."""
    with safe_open(str(path), framework="pt", device="cpu") as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    try:
        for name, module in models.modules().items():
            prefix = f"{name}/"
            sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            module.load_state_dict(sd, strict=True)
        for name, opt in models.optimizers().items():
            current = opt.state_dict()
            slots: dict[int, dict[str, torch.Tensor]] = {}
            for key, value in tensors.items():
                parts = key.split("/")
                if parts[0] == name and len(parts) == 3:
                    slots.setdefault(int(parts[1]), {})[parts[2]] = value
            opt.load_state_dict({"state": slots, "param_groups": current["param_groups"]})
    except (RuntimeError, ValueError, KeyError) as exc:
        raise VjganError(f"{path}: the checkpoint does not match these networks ({str(exc).splitlines()[0]}); "
                         "use the same --size and --width, or delete the folder to start over") from None
    torch.set_rng_state(tensors["rng/torch"])
