"""The analytics kinds a site can bind to its signals, found by entry point, and their parameters.

A binding in site.yaml names a ``kind`` and its hyper-parameters (``params``). Kinds are classes
registered by entry point, so a third party adds one without editing the core:

- group ``valueloop.detectors``: streaming detectors (:class:`~.anomaly.base.StreamingDetector`);
  role ``detector``, one output ``score`` (0..1);
- group ``valueloop.models``: models; the bindable ones are recognised by their shape. A class with
  ``forecast`` and ``backtest`` methods is a ``forecaster`` (outputs ``forecast``, ``lower``,
  ``upper``); a class whose ``__init__`` takes ``inputs`` and ``target`` and that has ``predict`` is
  an ``expected_value`` model (outputs ``expected``, ``lower``, ``upper``, ``residual``). Other
  models of the group (remaining-useful-life models, ...) are not bindable.

Hyper-parameters are the keyword arguments of a kind's ``__init__`` (and of its parents' when it
forwards ``**options``); :func:`check_params` checks names and types against the annotations, so a
bad binding is refused when the site is validated, not when its job first runs. The binding itself
supplies some arguments, which ``params`` may not set: ``signals`` (detectors: how many signals the
binding reads), ``inputs`` and ``target`` (expected-value models: column names), ``horizon``
(forecasters: steps of the binding's grid).

Parameters whose value is a detector (the ``members`` of ``ensemble``) take detector specs: a kind
name or ``{kind: ..., params: {...}}``, e.g.
``params: {members: [{kind: ewma_zscore, params: {alpha: 0.1}}, pca_t2q], weights: [1, 2]}``.
Parameters that point at signals by position (``slow`` of the prefix detectors) also accept the
binding's signal names.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from valueloop.analytics.anomaly.base import StreamingDetector
from valueloop.errors import ConfigError, ModelError
from valueloop.plugins import entry_points

DETECTORS = "valueloop.detectors"
MODELS = "valueloop.models"

Role = Literal["detector", "expected_value", "forecaster"]

OUTPUTS: dict[Role, tuple[str, ...]] = {
    "detector": ("score",),
    "expected_value": ("expected", "lower", "upper", "residual"),
    "forecaster": ("forecast", "lower", "upper"),
}
BOUND_PARAMS: dict[Role, frozenset[str]] = {
    "detector": frozenset({"signals"}),
    "expected_value": frozenset({"inputs", "target"}),
    "forecaster": frozenset({"horizon"}),
}
SIGNAL_POSITION_PARAMS = frozenset({"slow"})
"""Parameters holding positions of the binding's signals; signal names are accepted too."""


def _load(group: str) -> dict[str, type]:
    kinds: dict[str, type] = {}
    for entry in entry_points(group=group):
        loaded = entry.load()
        if isinstance(loaded, type):
            kinds[entry.name] = loaded
    return kinds


def detector_kinds() -> dict[str, type]:
    """Every installed detector class, by kind name (group ``valueloop.detectors``)."""
    return _load(DETECTORS)


def model_kinds() -> dict[str, type]:
    """Every installed model class, by kind name (group ``valueloop.models``); imports them all."""
    return _load(MODELS)


def installed_kinds() -> str:
    """The installed kind names, for error messages (nothing is imported)."""
    detectors = sorted(entry.name for entry in entry_points(group=DETECTORS))
    models = sorted(entry.name for entry in entry_points(group=MODELS))
    return f"detectors: {', '.join(detectors) or 'none'}; models: {', '.join(models) or 'none'}"


def _entry(kind: str) -> tuple[str, type]:
    for group in (DETECTORS, MODELS):
        for entry in entry_points(group=group, name=kind):
            try:
                loaded = entry.load()
            except ImportError as err:
                raise ConfigError(
                    f"analytics kind {kind!r} is registered as {entry.value} but cannot be "
                    f"imported: {err}"
                ) from err
            if isinstance(loaded, type):
                return group, loaded
    raise ConfigError(f"unknown analytics kind {kind!r}; installed {installed_kinds()}")


def kind_class(kind: str) -> type:
    """The class registered under ``kind`` (detectors first, then models); ConfigError if none."""
    return _entry(kind)[1]


def _model_role(cls: type) -> Role | None:
    if callable(getattr(cls, "forecast", None)) and callable(getattr(cls, "backtest", None)):
        return "forecaster"
    if {"inputs", "target"} <= hyper_parameters(cls).keys() and callable(
        getattr(cls, "predict", None)
    ):
        return "expected_value"
    return None


def kind_role(kind: str) -> Role:
    """``detector``, ``expected_value`` or ``forecaster``; ConfigError for a kind not bindable."""
    group, cls = _entry(kind)
    if group == DETECTORS:
        return "detector"
    role = _model_role(cls)
    if role is None:
        raise ConfigError(
            f"analytics kind {kind!r} ({cls.__name__}) is a model but neither a forecaster nor an "
            "expected-value model, so it cannot be bound to signals"
        )
    return role


def kind_outputs(kind: str) -> tuple[str, ...]:
    """The outputs a binding of ``kind`` writes, each as series ``<binding>_<output>``."""
    return OUTPUTS[kind_role(kind)]


@dataclass(frozen=True)
class HyperParameter:
    """One keyword argument of a kind's ``__init__``: its type annotation and default."""

    hint: Any
    default: Any

    @property
    def required(self) -> bool:
        """Whether the argument has no default."""
        return self.default is inspect.Parameter.empty


def hyper_parameters(cls: type) -> dict[str, HyperParameter]:
    """The keyword arguments of ``cls.__init__``, following ``**options`` into the parents."""
    found: dict[str, HyperParameter] = {}
    for klass in cls.__mro__:
        if klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        # a dataclass's __init__ reads its fields' annotations where each field is declared
        hints = get_type_hints(klass if is_dataclass(klass) else init)
        forwards = False
        for name, parameter in inspect.signature(init).parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                forwards = True
            elif name != "self" and parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
                found.setdefault(name, HyperParameter(hints.get(name, Any), parameter.default))
        if not forwards:
            break
    return found


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("collections.abc.", "")


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a YAML-loaded ``value`` fits the annotation ``hint`` (an int is a float)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if hint is None or hint is type(None):
        return value is None
    if origin is Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (list, tuple, Sequence):
        if not isinstance(value, list | tuple):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(map(_conforms, value, args))
        return all(_conforms(item, args[0] if args else Any) for item in value)
    if origin in (dict, Mapping):
        return isinstance(value, Mapping) and all(
            _conforms(item, args[1] if args else Any) for item in value.values()
        )
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _detector_hint(hint: Any) -> bool:
    """Whether ``hint`` asks for a detector or a sequence of detectors (``Ensemble.members``)."""
    if isinstance(hint, type):
        return issubclass(hint, StreamingDetector)
    return any(_detector_hint(arg) for arg in get_args(hint))


def _member_specs(kind: str, name: str, value: Any) -> list[tuple[str, Mapping[str, Any]]]:
    items = value if isinstance(value, list | tuple) else [value]
    specs: list[tuple[str, Mapping[str, Any]]] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, str):
            specs.append((item, {}))
        elif isinstance(item, Mapping) and isinstance(item.get("kind"), str):
            extra = set(item) - {"kind", "params"}
            params = item.get("params", {})
            if extra or not isinstance(params, Mapping):
                raise ConfigError(
                    f"analytics kind {kind!r}: {name} item {number} must be a kind name or "
                    f"{{kind: ..., params: {{...}}}}, got {item!r}"
                )
            specs.append((item["kind"], params))
        else:
            raise ConfigError(
                f"analytics kind {kind!r}: {name} item {number} must be a detector kind name or "
                f"{{kind: ..., params: {{...}}}}, got {item!r}"
            )
    return specs


def _signal_positions(kind: str, name: str, value: Any, signals: Sequence[str] | None) -> Any:
    """``value`` with signal names replaced by their positions among ``signals``."""
    if signals is None or not isinstance(value, list | tuple):
        return value
    positions = []
    for item in value:
        if isinstance(item, str):
            if item not in signals:
                raise ConfigError(
                    f"analytics kind {kind!r}: parameter {name!r} names signal {item!r}, which "
                    f"the binding does not read (it reads {', '.join(signals)})"
                )
            positions.append(list(signals).index(item))
        else:
            positions.append(item)
    return positions


def check_params(
    kind: str, params: Mapping[str, Any], *, signals: Sequence[str] | None = None
) -> None:
    """Refuse an unknown kind, or a hyper-parameter unknown, bound or badly typed, naming it.

    With ``signals`` (the names of the signals the binding reads) a detector is also built, so a
    kind that reads another number of signals (``contextual`` reads one) is refused too.
    """
    role = kind_role(kind)
    cls = kind_class(kind)
    known = hyper_parameters(cls)
    bound = BOUND_PARAMS[role]
    for name, value in params.items():
        if name in bound:
            raise ConfigError(
                f"analytics kind {kind!r}: parameter {name!r} is set by the binding, not in params"
            )
        if name not in known:
            choices = ", ".join(sorted(set(known) - bound)) or "none"
            raise ConfigError(
                f"analytics kind {kind!r} has no parameter {name!r}; its parameters: {choices}"
            )
        hint = known[name].hint
        if _detector_hint(hint):
            for member_kind, member_params in _member_specs(kind, name, value):
                if kind_role(member_kind) != "detector":
                    raise ConfigError(
                        f"analytics kind {kind!r}: {name} item {member_kind!r} is not a detector"
                    )
                try:
                    check_params(member_kind, member_params, signals=signals)
                except ConfigError as err:
                    raise ConfigError(f"analytics kind {kind!r}, {name}: {err}") from err
            continue
        if name in SIGNAL_POSITION_PARAMS:
            value = _signal_positions(kind, name, value, signals)
            hint = Sequence[int | str] if signals is None else hint
        if not _conforms(value, hint):
            raise ConfigError(
                f"analytics kind {kind!r}: parameter {name!r} must be {_type_name(hint)}, "
                f"got {value!r}"
            )
    missing = [name for name, hp in known.items() if hp.required and name not in bound]
    missing = [name for name in missing if name not in params]
    if missing:
        raise ConfigError(f"analytics kind {kind!r} needs the parameters {', '.join(missing)}")
    if signals is not None and role == "detector":
        build_detector(kind, params, signals)


def _build_arguments(
    kind: str, params: Mapping[str, Any], signals: Sequence[str]
) -> dict[str, Any]:
    known = hyper_parameters(kind_class(kind))
    arguments: dict[str, Any] = {}
    for name, value in params.items():
        hint = known[name].hint if name in known else Any
        if _detector_hint(hint):
            members = [build_detector(k, p, signals) for k, p in _member_specs(kind, name, value)]
            arguments[name] = members if isinstance(value, list | tuple) else members[0]
        elif name in SIGNAL_POSITION_PARAMS:
            arguments[name] = _signal_positions(kind, name, value, signals)
        else:
            arguments[name] = value
    return arguments


def build_detector(
    kind: str, params: Mapping[str, Any], signals: Sequence[str]
) -> StreamingDetector:
    """A new, unfitted detector of ``kind`` reading ``signals`` (names, in column order)."""
    cls = kind_class(kind)
    arguments = _build_arguments(kind, params, signals)
    if "signals" in hyper_parameters(cls):
        arguments["signals"] = len(signals)
    try:
        detector = cls(**arguments)
    except (ModelError, TypeError, ValueError) as err:
        raise ConfigError(f"analytics kind {kind!r} with params {dict(params)}: {err}") from err
    if not isinstance(detector, StreamingDetector):
        raise ConfigError(f"analytics kind {kind!r} ({cls.__name__}) is not a streaming detector")
    if detector.signals not in (None, len(signals)):
        raise ConfigError(
            f"analytics kind {kind!r} reads {detector.signals} signal(s); the binding reads "
            f"{len(signals)} ({', '.join(signals)})"
        )
    return detector


def build_model(kind: str, params: Mapping[str, Any], **bound: Any) -> Any:
    """A new, unfitted model of ``kind``, with the arguments the binding sets (``bound``)."""
    cls = kind_class(kind)
    try:
        return cls(**dict(params), **bound)
    except (ModelError, TypeError, ValueError) as err:
        raise ConfigError(f"analytics kind {kind!r} with params {dict(params)}: {err}") from err


def min_rows(kind: str, params: Mapping[str, Any]) -> int:
    """The ``min_rows`` a model of ``kind`` asks for (its parameter or default), else 0."""
    hyper = hyper_parameters(kind_class(kind)).get("min_rows")
    if hyper is None:
        return 0
    value = params.get("min_rows", hyper.default)
    return int(value) if isinstance(value, int) else 0
