"""The shared k-Wave problem: one module both solvers import (neither imports the other), a frozen record, and the
same problem for the native solver and the C++ binary's input file."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import numpy as np
import pytest

from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.engines.kwave import cpp, engine, problem, stepper
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.engines.kwave.problem import KWaveProblem, arc_points, prepare
from tfus.pipeline.transducers import BowlTransducer, Pose


def _imported_modules(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_neither_solver_imports_the_other():
    assert "tfus.pipeline.engines.kwave.engine" not in _imported_modules(cpp)
    assert "tfus.pipeline.engines.kwave.problem" in _imported_modules(cpp) & _imported_modules(engine)
    assert not {"tfus.pipeline.engines.kwave.engine", "tfus.pipeline.engines.kwave.cpp"} & _imported_modules(problem)


def test_fast_simulation_is_a_module_level_class():
    assert stepper.FastSimulation.__qualname__ == "FastSimulation"
    assert stepper.FastSimulation.__module__ == "tfus.pipeline.engines.kwave.stepper"


def test_prepare_returns_a_frozen_problem_on_the_expanded_grid():
    medium = MediumGrid.homogeneous((32, 20, 20), spacing_mm=0.5)
    run = prepare(medium, BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5), Pose([-6.0, 0, 0], [4.0, 0, 0]),
                  KWaveConfig(pml_size=10, domain_crossings=1.0))
    assert isinstance(run, KWaveProblem)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.dt = 1.0
    # 32 + 2 x 10 = 52 = 4 x 13 is padded to the next 7-smooth size, 54 (KWaveConfig.fft_padding)
    assert run.mask.shape == (54, 40, 40) and run.medium.sound_speed.shape == (54, 40, 40)
    assert run.grid_shape == (54, 40, 40)
    assert run.index.size == run.weights.size == np.size(run.scale) and run.signal.shape == (run.n_steps,)
    assert run.n_steps % run.ppp == 0


def test_arc_points_lie_on_the_arc():
    bowl = BowlTransducer("b", 20.0, 20.0, 5e5, 6e4)
    pts = arc_points(bowl, Pose([0.0, 0.0, 0.0], [0.0, 20.0, 0.0]), 1.0)
    assert np.allclose(np.linalg.norm(pts - [0.0, 20.0], axis=1), 20.0)
    assert pts[:, 1].max() == pytest.approx(bowl.dome_height_mm)
