"""PeaceWatch: watch news feeds for peace-mediation stories and extract their facts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("peacewatch")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

PROJECT_URL = "https://github.com/peacewatch/peacewatch"
