"""Which wheels the Lambda build accepts for a runtime."""

from pathlib import Path

import pytest

from lambda_handler.build import RUNTIMES, BuildError, Wheel, check_wheels


def wheel(name):
    return Wheel.from_path(Path(name))


GTARS = "gtars-0.10.0-cp312-cp312-manylinux_2_28_x86_64.whl"


@pytest.mark.parametrize(
    ("name", "runtime", "loads"),
    [
        (GTARS, "python3.12", True),
        (GTARS, "python3.13", False),  # built for CPython 3.12 only
        (GTARS, "python3.11", False),
        ("gtars-0.10.0-cp311-cp311-manylinux_2_28_x86_64.whl", "python3.11", False),
        (
            "deflate-0.9.0-cp311-abi3-manylinux2014_x86_64."
            "manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
            "python3.12",
            True,
        ),
        ("boto3-1.44.8-py3-none-any.whl", "python3.12", True),
        ("gtars-0.10.0-cp312-cp312-manylinux_2_28_aarch64.whl", "python3.12", False),
        ("gtars-0.10.0-cp312-cp312-musllinux_1_2_x86_64.whl", "python3.12", False),
        ("x-1.0-cp312-cp312-manylinux_2_35_x86_64.whl", "python3.12", False),
    ],
)
def test_wheel_loads_on(name, runtime, loads):
    assert wheel(name).loads_on(RUNTIMES[runtime]) is loads


def test_an_older_release_than_the_pinned_one_is_refused():
    wheels = [wheel("gtars-0.2.4-cp311-cp311-manylinux_2_17_x86_64.whl")]
    with pytest.raises(BuildError, match=r"gtars 0\.2\.4 .* not 0\.10\.0"):
        check_wheels(wheels, RUNTIMES["python3.11"], ["gtars==0.10.0"])


def test_a_wheel_the_runtime_cannot_load_is_refused():
    with pytest.raises(BuildError, match=r"would not load on python3\.11"):
        check_wheels([wheel(GTARS)], RUNTIMES["python3.11"], ["gtars==0.10.0"])
