"""``tfus train`` as a function: train a registered surrogate on a tfus store into a run folder, resuming a killed
run exactly where its last epoch ended.

One call runs in one process, or in each process of a ``torchrun`` job (DDP: ``gloo`` on CPU, ``nccl`` on GPU, a
:class:`~torch.utils.data.DistributedSampler` per process, gradients averaged, only the main process writes). Per
epoch the data order depends on ``(seed, epoch)`` only and the augmentation on ``(seed, epoch, sample)``; with the
random states stored in ``last.pt`` a resumed run reproduces the uninterrupted one bit for bit on CPU.

Example:
    >>> result = train("dataset.zarr", "runs/r1", TrainConfig(epochs=2, model={"preset": "tiny"}))  # doctest: +SKIP
    >>> result.epoch, (result.out / "best.pt").is_file()  # doctest: +SKIP
    (2, True)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io import atomic_write_text
from tfus.pipeline.store import open_store, read_split, split_samples
from tfus.pipeline.version import versions
from tfus.surrogates.checkpoint import load_checkpoint, save_checkpoint
from tfus.surrogates.data.dataset import StoreFieldDataset
from tfus.surrogates.data.describe import data_description
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.registry import build_model_with_config, model_names
from tfus.surrogates.training.adapter import adapter_class, adapter_for, enable_gradient_checkpointing
from tfus.surrogates.training.config import TrainConfig
from tfus.surrogates.training.distributed import (
    DistContext,
    all_gather_objects,
    barrier,
    setup_distributed,
    teardown_distributed,
    weights_digest,
)
from tfus.surrogates.training.logs import EpochProgress, TensorBoardLog, write_csv
from tfus.surrogates.training.loop import reduce_means, train_epoch, validate
from tfus.surrogates.training.run_files import (
    check_same_data,
    clear_run,
    load_training_checkpoint,
    remove_stale_temps,
    resolve_config,
)
from tfus.surrogates.training.schedule import make_scheduler, resume_scheduler
from tfus.surrogates.training.state import deterministic_mode, rng_state, seed_everything, set_rng_state

__all__ = ["TrainResult", "train"]


@dataclass(frozen=True)
class TrainResult:
    """What a :func:`train` call did: epochs done in total, global step, the best epoch and its loss, the epoch
    it resumed from (None for a new run) and the per-epoch log rows."""

    out: Path
    epoch: int
    step: int
    best_epoch: int
    best_loss: float
    resumed_from: int | None
    world_size: int
    history: list[dict] = field(default_factory=list)


def train(store: str | Path, out: str | Path, config: TrainConfig | None = None, *, epochs: int | None = None,
          device: str = "auto", overwrite: bool = False, stop_after: int | None = None, progress: bool = True,
          say: Callable[[str], None] | None = None) -> TrainResult:
    """Train (or resume) a surrogate.

    Args:
        store: the dataset store.
        out: the run folder; if it holds ``last.pt`` the run resumes (unless ``overwrite``).
        config: the training config (None: the defaults, or the stored one when resuming).
        epochs: total epochs (overrides the config's).
        device: ``auto``, ``cpu`` or ``gpu``.
        overwrite: discard an earlier run in ``out``.
        stop_after: train at most this many epochs in this call (for job time limits); the run stays resumable.
        progress: show a progress bar (main process).
        say: receives one-line status messages (main process).

    Raises:
        TfusInputError: bad store, split, config, device or run folder (one line).
    """
    ctx = setup_distributed(device)
    try:
        return _train(Path(store), Path(out), config, epochs, ctx, overwrite, stop_after, progress,
                      say if ctx.is_main and say is not None else (lambda _msg: None))
    except TfusInputError as err:
        raise TfusInputError(_clean(str(err))) from None
    finally:
        teardown_distributed(ctx)


def _clean(message: str) -> str:
    """A user error raised in a DataLoader worker arrives wrapped in the worker's traceback: keep its own line."""
    marker = "TfusInputError: "
    return message.rsplit(marker, 1)[-1].strip() if "Original Traceback" in message and marker in message else message


def _train(store: Path, out: Path, config: TrainConfig | None, epochs: int | None, ctx: DistContext,
           overwrite: bool, stop_after: int | None, progress: bool, say: Callable[[str], None]) -> TrainResult:
    if out.exists() and not out.is_dir():
        raise TfusInputError(f"--out {out} is a file; give a run folder")
    last = out / "last.pt"
    ckpt = load_training_checkpoint(last) if last.is_file() and not overwrite else None
    cfg = resolve_config(ckpt, config, epochs, str(out))
    if cfg.model_name not in model_names():
        raise TfusInputError(f"unknown model {cfg.model_name!r}; available: {', '.join(model_names())}")
    open_store(store)  # a missing or foreign store is reported before anything else
    with deterministic_mode(cfg.deterministic, ctx.device.type):
        seed_everything(cfg.seed)
        if ckpt is not None:
            model, model_cfg = build_model_with_config(cfg.model_name, ckpt["model_config"])
        else:
            model, model_cfg = _build_model(cfg)
        n_points = int(cfg.n_points or model_cfg.get("n_points") or 2048)
        free_field = bool(model_cfg.get("free_field_prior", False))
        beam_prior = str(model_cfg.get("beam_prior", "water"))
        make_dataset = adapter_class(cfg.model_name).dataset
        train_ds = make_dataset(store, cfg.train_split, n_points, Normalization(), augment=cfg.augment,
                                seed=cfg.seed, return_pressure=False, free_field=free_field,
                                slab=cfg.slab if cfg.stage == "2d+t" else None, beam_prior=beam_prior)
        if cfg.val_heads:
            train_ds.select_heads(cfg.val_heads, keep=False)
        if cfg.max_train_samples is not None:
            train_ds.limit(cfg.max_train_samples, cfg.seed)
        norm = Normalization(**ckpt["normalization"]) if ckpt is not None else train_ds.fit_normalization()
        train_ds.normalization = norm
        val_ds = _val_dataset(store, cfg, n_points, norm, say, free_field, beam_prior)
        data = {**data_description(store, n_points, len(train_ds)), **train_ds.data_entry()}
        if cfg.val_heads:  # validation heads taken out of the training split: the record says what was trained on
            data["train_heads"] = [h for h in data["train_heads"] if h not in cfg.val_heads]
            data["val_heads"] = list(cfg.val_heads)
        if ckpt is not None:
            check_same_data(ckpt["data"], data, str(out))
            _load_weights(model, ckpt, out)
        elif cfg.init_from is not None:
            _init_weights(model, cfg, say)
        barrier()  # every check passed on every process: now the run folder may change
        if ctx.is_main:
            if overwrite:
                clear_run(out)
            out.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(out)
        barrier()
        return _fit(_Run(store, out, cfg, ckpt, ctx, model, model_cfg, norm, data, train_ds, val_ds, stop_after,
                         progress, say))


def _build_model(cfg: TrainConfig):
    overrides = dict(cfg.model)
    if cfg.stage == "2d+t":  # Tetris stage 1: the 2D+t network
        if "z_branch" not in build_model_with_config(cfg.model_name, overrides)[1]:
            raise TfusInputError(f"stage 2d+t needs a model with a z-branch (sep4d); {cfg.model_name} has none")
        overrides["z_branch"] = False
    model, model_cfg = build_model_with_config(cfg.model_name, overrides)
    if cfg.n_points is not None and "n_points" in model_cfg and model_cfg["n_points"] != cfg.n_points:
        model, model_cfg = build_model_with_config(cfg.model_name, {**overrides, "n_points": cfg.n_points})
    return model, model_cfg


def _init_weights(model: torch.nn.Module, cfg: TrainConfig, say: Callable[[str], None]) -> None:
    """``init_from``: the weights of another run start this one (z-branches a 2D+t run lacks start at zero)."""
    src = load_checkpoint(cfg.init_from)
    if str(src["model"]) != cfg.model_name:
        raise TfusInputError(f"init_from {cfg.init_from} holds a {src['model']} model, this run trains "
                             f"{cfg.model_name}; give a run of the same model")
    loader = getattr(model, "load_init_weights", None)
    if callable(loader):
        zeroed = loader(src["state_dict"])
    else:
        try:
            model.load_state_dict(src["state_dict"])
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise TfusInputError(f"init_from {cfg.init_from} does not fit this {cfg.model_name} config "
                                 f"({first[:100]}); give a run of the same model config") from None
        zeroed = []
    say(f"weights from {cfg.init_from} (epoch {src.get('epoch', '?')})"
        + (f"; {len(zeroed)} z-branch kernels start at zero" if zeroed else ""))


def _load_weights(model: torch.nn.Module, ckpt: dict, out: Path) -> None:
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise TfusInputError(f"{out}/last.pt does not fit its {ckpt['model']} config ({first[:100]}); it is from "
                             "another model, pass --overwrite or choose another --out") from None


def _val_dataset(store: Path, cfg: TrainConfig, n_points: int, norm: Normalization,
                 say: Callable[[str], None], free_field: bool = False,
                 beam_prior: str = "water") -> StoreFieldDataset | None:
    if cfg.val_heads:
        val = adapter_class(cfg.model_name).dataset(store, cfg.train_split, n_points, norm, augment=False,
                                                    seed=cfg.seed, return_pressure=cfg.val_metrics,
                                                    free_field=free_field, beam_prior=beam_prior)
        val.select_heads(cfg.val_heads, keep=True)
        return val
    if cfg.val_split is None:
        return None
    group = open_store(store)
    if not read_split(group, cfg.val_split) or split_samples(group, cfg.val_split).size == 0:
        say(f"no complete {cfg.val_split} samples in {store}: no validation, best.pt follows the training loss")
        return None
    return adapter_class(cfg.model_name).dataset(store, cfg.val_split, n_points, norm, augment=False, seed=cfg.seed,
                                                 return_pressure=cfg.val_metrics, free_field=free_field,
                                                 beam_prior=beam_prior)


@dataclass(frozen=True)
class _Run:
    """Everything :func:`_train` prepared for :func:`_fit`."""

    store: Path
    out: Path
    cfg: TrainConfig
    ckpt: dict | None
    ctx: DistContext
    model: torch.nn.Module
    model_cfg: dict
    norm: Normalization
    data: dict
    train_ds: StoreFieldDataset
    val_ds: StoreFieldDataset | None
    stop_after: int | None
    progress: bool
    say: Callable[[str], None]


@dataclass(frozen=True)
class _Parts:
    """The training machinery :func:`_parts` builds: the (DDP-wrapped) model and its raw module, loaders and the
    per-epoch shuffling generator, the optimizer, scheduler and gradient scaler."""

    model: torch.nn.Module
    raw: torch.nn.Module
    adapter: object
    sampler: DistributedSampler
    gen: torch.Generator
    loader: DataLoader
    val_loader: DataLoader | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler
    autocast_dtype: torch.dtype | None


@dataclass
class _Progress:
    """Where the run stands: epochs done, global step, the best epoch so far and the per-epoch rows."""

    start: int = 0
    step: int = 0
    best: dict = field(default_factory=lambda: {"loss": math.inf, "epoch": 0})
    history: list[dict] = field(default_factory=list)


def _fit(run: _Run) -> TrainResult:
    cfg, ctx, out = run.cfg, run.ctx, run.out
    parts = _parts(run)
    state, scheduler = _resume(run, parts)
    parts = replace(parts, scheduler=scheduler)
    common = {"model": cfg.model_name, "model_config": run.model_cfg, "normalization": run.norm.to_dict(),
              "data": run.data, "train_config": cfg.public(), "versions": versions()}
    resumed_from = state.start if run.ckpt is not None else None
    if ctx.is_main:
        atomic_write_text(out / "config.json", _json({**common, "seed": cfg.seed, "device": ctx.device.type,
                                                      "world_size": ctx.world_size, "store": str(run.store),
                                                      "resumed_from_epoch": resumed_from}))
    prior = getattr(run.train_ds, "prior_amplitude", lambda: None)()
    if prior is not None:  # a beam-frame model's water field travels with its weights: predict needs no simulation
        common["prior"] = torch.from_numpy(np.ascontiguousarray(prior, np.float32))
    tb = (TensorBoardLog(out / "tensorboard", purge_step=state.step if run.ckpt is not None else None)
          if ctx.is_main else None)
    bar = EpochProgress(run.progress and ctx.is_main)
    end = cfg.epochs if run.stop_after is None else min(cfg.epochs, state.start + int(run.stop_after))
    try:
        for epoch in range(state.start, end):
            if _out_of_time(cfg, state.history):
                run.say(f"time limit of {cfg.time_limit_min:g} min reached after epoch {epoch}; stopping")
                break
            row, improved = _train_one_epoch(run, parts, state, epoch, bar)
            digests = all_gather_objects(weights_digest(parts.raw))
            if ctx.is_main:
                _save_epoch(run, parts, state, common, row, improved, digests, tb)
            if len(set(digests)) > 1:
                raise RuntimeError(f"DDP processes hold different weights after epoch {epoch + 1}: {digests}")
            barrier()
    finally:
        bar.close()
        if tb is not None:
            tb.close()
    return TrainResult(out=out, epoch=int(state.history[-1]["epoch"]) if state.history else state.start,
                       step=state.step, best_epoch=int(state.best["epoch"]), best_loss=float(state.best["loss"]),
                       resumed_from=resumed_from, world_size=ctx.world_size,
                       history=state.history)


def _out_of_time(cfg: TrainConfig, history: list[dict]) -> bool:
    """Whether another epoch would end past ``time_limit_min`` (spent so far plus the last epoch's time)."""
    if cfg.time_limit_min is None or not history:
        return False
    spent = sum(float(r.get("seconds", 0.0)) for r in history)
    return spent + float(history[-1].get("seconds", 0.0)) > 60.0 * cfg.time_limit_min


def _parts(run: _Run) -> _Parts:
    """Move the model to the device (DDP-wrapped on several processes) and build loaders, optimizer and the rest."""
    cfg, ctx = run.cfg, run.ctx
    device = ctx.device
    raw = model = run.model
    if cfg.grad_checkpoint:
        enable_gradient_checkpointing(raw)
    raw.to(device)
    if ctx.distributed:
        model = torch.nn.parallel.DistributedDataParallel(raw, device_ids=[device.index] if device.type == "cuda"
                                                          else None, static_graph=True)
    adapter = adapter_for(cfg.model_name, cfg.loss_config, run.train_ds.spec.spacing_mm)
    sampler = DistributedSampler(run.train_ds, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=cfg.seed)
    gen = torch.Generator()
    cuda = device.type == "cuda"
    loader = DataLoader(run.train_ds, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers,
                        pin_memory=cuda, generator=gen)
    val_loader = None if run.val_ds is None else DataLoader(
        run.val_ds, batch_size=cfg.batch_size, sampler=list(range(ctx.rank, len(run.val_ds), ctx.world_size)),
        num_workers=cfg.num_workers, pin_memory=cuda)
    optimizer = torch.optim.AdamW(raw.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = make_scheduler(optimizer, cfg, cfg.epochs * len(loader))
    amp = cfg.amp and cuda
    scaler = torch.amp.GradScaler(device.type, enabled=amp and cfg.amp_dtype == "float16")
    autocast_dtype = getattr(torch, cfg.amp_dtype) if amp else None
    return _Parts(model, raw, adapter, sampler, gen, loader, val_loader, optimizer, scheduler, scaler,
                  autocast_dtype)


def _resume(run: _Run, parts: _Parts) -> tuple[_Progress, torch.optim.lr_scheduler.LRScheduler | None]:
    """Load the optimizer, scheduler, scaler and random states of ``last.pt`` (or say a new run's first line).

    Returns where the run stands and the scheduler to use (a new one when ``epochs`` were raised).
    """
    cfg, ckpt = run.cfg, run.ckpt
    if ckpt is None:
        n_params = sum(p.numel() for p in parts.raw.parameters())
        run.say(f"training {cfg.model_name} ({n_params:,} parameters) on {len(run.train_ds)} samples of "
                f"{len(set(run.train_ds.heads.tolist()))} heads"
                + (f", validating on {len(run.val_ds)}" if run.val_ds else "")
                + f"; {run.ctx.device.type}, {run.ctx.world_size} process(es), {cfg.epochs} epochs")
        return _Progress(), parts.scheduler
    parts.optimizer.load_state_dict(ckpt["optimizer"])
    state = _Progress(int(ckpt["epoch"]), int(ckpt["step"]), dict(ckpt["best"]), list(ckpt["history"]))
    scheduler = resume_scheduler(parts.scheduler, ckpt.get("scheduler"), parts.optimizer, cfg,
                                 cfg.epochs * len(parts.loader), state.step)
    if parts.scaler.is_enabled() and ckpt.get("scaler"):
        parts.scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
    run.say(f"resuming {run.out} after epoch {state.start} of {cfg.epochs} (step {state.step}; from last.pt)")
    return state, scheduler


def _train_one_epoch(run: _Run, parts: _Parts, state: _Progress, epoch: int, bar: EpochProgress) -> tuple[dict, bool]:
    """Train (and validate when due) one epoch; append its log row to ``state`` and update the best epoch."""
    cfg, device = run.cfg, run.ctx.device
    t0 = time.perf_counter()
    parts.sampler.set_epoch(epoch)
    run.train_ds.set_epoch(epoch)
    parts.gen.manual_seed(cfg.seed * 1_000_003 + epoch)
    lr = parts.optimizer.param_groups[0]["lr"]
    bar.start(f"epoch {epoch + 1}/{cfg.epochs}", len(parts.loader))
    sums, n = train_epoch(parts.model, parts.loader, parts.adapter, parts.optimizer, parts.scheduler, parts.scaler,
                          device=device, autocast_dtype=parts.autocast_dtype, grad_clip=cfg.grad_clip, progress=bar)
    state.step += len(parts.loader)
    row = {"epoch": epoch + 1, "step": state.step, "lr": lr, **_named("train", reduce_means(sums, n))}
    if parts.val_loader is not None and ((epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs):
        vs, vn = validate(parts.model, parts.val_loader, parts.adapter, run.norm, device=device,
                          autocast_dtype=parts.autocast_dtype, metrics=cfg.val_metrics)
        row.update(_named("val", reduce_means(vs, vn)))
    score = row.get("val_loss", math.nan) if parts.val_loader is not None else row["train_loss"]
    improved = math.isfinite(score) and score < state.best["loss"]
    if improved:
        state.best = {"loss": float(score), "epoch": epoch + 1}
    row.update(best_epoch=state.best["epoch"], seconds=round(time.perf_counter() - t0, 3))
    state.history.append(row)
    return row, improved


def _save_epoch(run: _Run, parts: _Parts, state: _Progress, common: dict, row: dict, improved: bool,
                digests: list, tb: TensorBoardLog) -> None:
    """Main process: ``best.pt`` when improved, ``last.pt`` (everything a resume needs), ``log.csv``, TensorBoard,
    one line."""
    cfg, out, epoch = run.cfg, run.out, row["epoch"]
    weights = {k: v.detach().cpu() for k, v in parts.raw.state_dict().items()}
    epoch_info = {"epoch": epoch, "step": state.step, "metrics": row}
    if improved:
        save_checkpoint(out / "best.pt", {**common, **epoch_info, "state_dict": weights})
    save_checkpoint(out / "last.pt", {
        **common, **epoch_info, "state_dict": weights, "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict() if parts.scheduler is not None else None,
        "scaler": parts.scaler.state_dict(), "rng": rng_state(), "best": state.best, "history": state.history,
        "ddp": {"world_size": run.ctx.world_size, "weights_sha256": digests}})
    write_csv(out / "log.csv", state.history)
    tb.log(row, state.step)
    run.say(f"epoch {epoch}/{cfg.epochs}: train loss {row['train_loss']:.4g}"
            + (f", val loss {row['val_loss']:.4g}" if "val_loss" in row else "")
            + (" (best)" if improved else ""))


def _named(prefix: str, means: dict[str, float]) -> dict[str, float]:
    """``{prefix}_loss`` (the total) first, then the loss terms, then the metrics."""
    keys = sorted(means, key=lambda k: (k != "total", k.startswith("metric:"), k))
    return {f"{prefix}_{'loss' if k == 'total' else k.removeprefix('metric:')}": means[k] for k in keys}


def _json(obj: dict) -> str:
    from tfus.pipeline.io.jsonio import dumps_json

    return dumps_json(obj)
