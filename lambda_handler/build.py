"""Build the Lambda deployment zip.

The zip holds the handler, the generator (``fasta_drs/__init__.py`` and
``fasta_drs/generator/``) and their dependencies, gtars, deflate and boto3,
at the versions this checkout runs, as manylinux wheels for the Lambda
runtime: CPython 3.12 or newer on x86_64, whose Amazon Linux 2023 has glibc
2.34. It holds no Django.

pip, asked for wheels for another platform, quietly picks an older release
when the pinned one has no wheel there; so every wheel is checked against
the runtime, and the build refuses a package that would not load there
(python3.11's runtime, with glibc 2.26, cannot load gtars 0.10).

    python -m lambda_handler.build [--output PATH] [--runtime python3.12]
"""

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLER = "lambda_handler.handler.handle"
ARCHITECTURE = "x86_64"
DEFAULT_RUNTIME = "python3.12"
DEFAULT_OUTPUT = ROOT / "dist" / "fasta-drs-lambda.zip"
# The distributions the generator imports; boto3 is included, though the
# runtime has one, so the function runs the version tested here.
REQUIREMENTS = ("gtars", "deflate", "boto3")
# Our own code in the package, relative to the checkout.
SOURCES = ("lambda_handler/__init__.py", "lambda_handler/handler.py")
GENERATOR = ("fasta_drs/__init__.py", "fasta_drs/generator")
# Entries with these names are left out of the zip.
LEFT_OUT = ("__pycache__",)
# Zip entries get this date, so the same inputs make the same zip.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class BuildError(Exception):
    """The package cannot be built, or would not load on the runtime."""


@dataclass(frozen=True)
class Runtime:
    name: str
    python: tuple[int, int]
    glibc: tuple[int, int]

    @property
    def tag(self):
        return f"cp{self.python[0]}{self.python[1]}"


# Lambda's Python runtimes and the glibc of the Amazon Linux under each.
RUNTIMES = {
    runtime.name: runtime
    for runtime in (
        Runtime("python3.9", (3, 9), (2, 26)),
        Runtime("python3.10", (3, 10), (2, 26)),
        Runtime("python3.11", (3, 11), (2, 26)),
        Runtime("python3.12", (3, 12), (2, 34)),
        Runtime("python3.13", (3, 13), (2, 34)),
        Runtime("python3.14", (3, 14), (2, 34)),
    )
}

_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)")
# The legacy manylinux names and the glibc each stands for.
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@dataclass(frozen=True)
class Wheel:
    """A wheel file's name, split into its parts (PEP 427)."""

    path: Path
    distribution: str
    version: str
    pythons: tuple[str, ...]
    abis: tuple[str, ...]
    platforms: tuple[str, ...]

    @classmethod
    def from_path(cls, path):
        parts = path.name[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise BuildError(f"{path.name} is not a wheel file name.")
        distribution, version = parts[0], parts[1]
        pythons, abis, platforms = (part.split(".") for part in parts[-3:])
        return cls(path, distribution, version, *map(tuple, (pythons, abis, platforms)))

    def loads_on(self, runtime):
        """Whether the runtime's interpreter can import this wheel."""
        return self._python_fits(runtime) and any(
            self._platform_fits(platform, runtime) for platform in self.platforms
        )

    def _python_fits(self, runtime):
        major, minor = runtime.python
        for python, abi in ((p, a) for p in self.pythons for a in self.abis):
            if abi == "none" and python in ("py3", f"py{major}{minor}", runtime.tag):
                return True
            if abi == runtime.tag and python == runtime.tag:
                return True
            if abi == "abi3" and python.startswith("cp3"):
                if int(python[3:]) <= minor:
                    return True
        return False

    @staticmethod
    def _platform_fits(platform, runtime):
        if platform == "any":
            return True
        match = _MANYLINUX.fullmatch(platform)
        if match:
            needed, architecture = (int(match[1]), int(match[2])), match[3]
        else:
            legacy, _, architecture = platform.partition("_")
            if legacy not in _LEGACY:
                return False
            needed = _LEGACY[legacy]
        return architecture == ARCHITECTURE and needed <= runtime.glibc


def pinned_requirements():
    """``name==version`` for each requirement, as installed here."""
    pins = []
    for name in REQUIREMENTS:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise BuildError(
                f"{name} is not installed here; run `make venv` first."
            ) from None
    return pins


def platform_tags(runtime):
    """Every manylinux tag whose glibc the runtime has, newest first."""
    major, newest = runtime.glibc
    tags = [
        f"manylinux_{major}_{minor}_{ARCHITECTURE}" for minor in range(newest, 4, -1)
    ]
    return [*tags, f"manylinux2014_{ARCHITECTURE}", f"manylinux1_{ARCHITECTURE}"]


def download_wheels(runtime, directory, pins):
    """Have pip fetch the runtime's wheels of ``pins`` and their deps."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        f"{runtime.python[0]}.{runtime.python[1]}",
        "--dest",
        str(directory),
    ]
    for tag in platform_tags(runtime):
        command += ["--platform", tag]
    completed = subprocess.run(
        [*command, *pins], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        errors = [
            line for line in completed.stderr.splitlines() if line.startswith("ERROR")
        ]
        raise BuildError(
            f"pip found no {runtime.name} {ARCHITECTURE} wheels for "
            f"{' '.join(pins)}; this runtime cannot load them. Use python3.12 "
            "or newer.\n" + "\n".join(errors or [completed.stderr.strip()[-2000:]])
        )
    paths = sorted(directory.glob("*.whl"))
    return [Wheel.from_path(path) for path in paths]


def check_wheels(wheels, runtime, pins):
    """Refuse wheels that would not load on the runtime, or that are not
    the pinned versions."""
    wanted = dict(pin.split("==") for pin in pins)
    found = {_normalise(wheel.distribution): wheel for wheel in wheels}
    for name, version in wanted.items():
        wheel = found.get(_normalise(name))
        if wheel is None or wheel.version != version:
            got = wheel.version if wheel else "nothing"
            raise BuildError(
                f"pip chose {name} {got} for {runtime.name}, not {version}: the "
                f"pinned release has no wheel for that runtime."
            )
    unloadable = [wheel.path.name for wheel in wheels if not wheel.loads_on(runtime)]
    if unloadable:
        raise BuildError(
            f"These wheels would not load on {runtime.name} {ARCHITECTURE} "
            f"(glibc {runtime.glibc[0]}.{runtime.glibc[1]}): "
            f"{', '.join(unloadable)}. Use python3.12 or newer."
        )


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _our_files():
    files = []
    for relative in (*SOURCES, *GENERATOR):
        path = ROOT / relative
        if path.is_dir():
            files.extend(
                item
                for item in sorted(path.rglob("*.py"))
                if not any(part in LEFT_OUT for part in item.parts)
            )
        else:
            files.append(path)
    return [(path.relative_to(ROOT).as_posix(), path) for path in files]


def assemble(wheels, staging):
    """Unpack the wheels and copy our code into ``staging``."""
    for wheel in wheels:
        with zipfile.ZipFile(wheel.path) as archive:
            archive.extractall(staging)
    for name, path in _our_files():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    if (staging / "django").exists():
        raise BuildError("Django found its way into the package; it must not.")


def write_zip(staging, output):
    """Zip ``staging`` into ``output`` the same way every time."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.partial")
    entries = sorted(
        path
        for path in staging.rglob("*")
        if path.is_file() and not any(part in LEFT_OUT for part in path.parts)
    )
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in entries:
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), ZIP_DATE)
            executable = path.suffix == ".so" or ".so." in path.name
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    temporary.replace(output)
    return entries


def summary(staging, entries, output):
    """What is in the zip: size, file count and the size of each part."""
    parts = {}
    for path in entries:
        top = path.relative_to(staging).parts[0]
        parts[top] = parts.get(top, 0) + path.stat().st_size
    return {
        "zip": str(output),
        "zip_bytes": output.stat().st_size,
        "unzipped_bytes": sum(parts.values()),
        "files": len(entries),
        "contents": dict(sorted(parts.items(), key=lambda item: -item[1])),
    }


def build(output=DEFAULT_OUTPUT, runtime_name=DEFAULT_RUNTIME):
    """Build the zip at ``output``; return its `summary`."""
    runtime = RUNTIMES.get(runtime_name)
    if runtime is None:
        raise BuildError(
            f"{runtime_name} is not a Lambda Python runtime this build knows; "
            f"use one of {', '.join(RUNTIMES)}."
        )
    pins = pinned_requirements()
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as scratch:
        scratch = Path(scratch)
        (scratch / "wheels").mkdir()
        wheels = download_wheels(runtime, scratch / "wheels", pins)
        check_wheels(wheels, runtime, pins)
        staging = scratch / "package"
        staging.mkdir()
        assemble(wheels, staging)
        entries = write_zip(staging, Path(output))
        return summary(staging, entries, Path(output))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lambda_handler.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME, choices=sorted(RUNTIMES))
    arguments = parser.parse_args(argv)
    try:
        report = build(arguments.output, arguments.runtime)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"{report['zip']}: {report['zip_bytes'] / 1e6:.1f} MB zipped, "
        f"{report['unzipped_bytes'] / 1e6:.1f} MB unzipped, {report['files']} files"
    )
    for name, size in report["contents"].items():
        print(f"  {size / 1e6:8.2f} MB  {name}")
    print(f"handler: {HANDLER}  runtime: {arguments.runtime} {ARCHITECTURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
