"""The configuration: one YAML file, read once into frozen dataclasses (docs/configuration.md).

The face of the package, what the rest of the gateway imports: the model
(:class:`GatewayConfig` and its parts), :func:`load_config` / :func:`load_config_text` and the
:class:`ConfigError` they raise, and the duration helpers. Inside, in the order a file goes
through them: ``nodes`` (YAML as nodes that keep their lines; problems collected, never
raised), ``reader`` (typed values from nodes, ``${VAR}``), ``values`` (parsers for single
values), ``keys`` (the schema's names), ``sections`` (a builder per section), ``routing``
(the routes section), ``checks`` (rules across sections) and ``load`` (the file as a whole).
"""

from gateway.config.durations import format_duration, parse_duration
from gateway.config.errors import ConfigError
from gateway.config.load import load_config, load_config_text
from gateway.config.model import (
    DEFAULT_COOKIE,
    DEMO_SECRET,
    Address,
    Flavor,
    GatewayConfig,
    IPNetwork,
    Limits,
    LoginSettings,
    LogSettings,
    Needs,
    Policy,
    Route,
    SessionSettings,
    Timeouts,
    Upstream,
)

__all__ = [
    "DEFAULT_COOKIE",
    "DEMO_SECRET",
    "Address",
    "ConfigError",
    "Flavor",
    "GatewayConfig",
    "IPNetwork",
    "Limits",
    "LogSettings",
    "LoginSettings",
    "Needs",
    "Policy",
    "Route",
    "SessionSettings",
    "Timeouts",
    "Upstream",
    "format_duration",
    "load_config",
    "load_config_text",
    "parse_duration",
]
