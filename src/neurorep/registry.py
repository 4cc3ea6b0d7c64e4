"""A small name -> factory registry used for encoders, objectives, datasets and recipes."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from neurorep.errors import ConfigError, NeurorepError, closest, unknown_name_message

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; unknown names fail with the known names and a "did you mean".

    Example::

        encoders = Registry("encoder")

        @encoders.register("cnn")
        class CNNEncoder(Encoder): ...

        enc = encoders.create("cnn", n_channels=2, n_times=3000)
    """

    def __init__(self, kind: str, builtins: str | None = None) -> None:
        """``builtins``: the package whose modules register the built-in entries, imported (by name)
        on the first lookup, so a registry module never imports the package that fills it."""
        self.kind = kind
        self.builtins = builtins
        self._items: dict[str, Callable[..., T]] = {}
        self._descriptions: dict[str, str] = {}

    def _load_builtins(self) -> None:
        if self.builtins is not None:
            import importlib

            importlib.import_module(self.builtins)

    def register(self, name: str, description: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name``; registering a name twice is an error."""

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._items and self._items[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = factory
            doc = description or (factory.__doc__ or "").strip().splitlines()[0:1]
            self._descriptions[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory registered as ``name``; raise :class:`ConfigError` if unknown."""
        if name not in self._items:
            self._load_builtins()
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(unknown_name_message(self.kind, name, self._items)) from None

    def create(self, name: str, **kwargs: Any) -> T:
        """Build the registered object ``name`` with ``kwargs``.

        Arguments the factory does not take, or values it rejects (``ValueError``/``TypeError``
        while building), are a :class:`ConfigError` naming the component and its arguments.
        """
        factory = self.get(name)
        self.check_kwargs(name, kwargs, partial=False)
        try:
            return factory(**kwargs)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, NeurorepError):
                raise
            raise ConfigError(f"{self.kind} {name!r} cannot be built with {kwargs}: {exc}") from None

    def check_kwargs(self, name: str, kwargs: dict[str, Any], partial: bool = True) -> None:
        """Refuse keyword arguments that ``name``'s factory does not take (a typo in a config's ``kwargs``).

        With ``partial`` missing required arguments are allowed (the caller adds them later).
        """
        factory = self.get(name)
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # no signature to check against: the call itself will
            return
        try:
            (signature.bind_partial if partial else signature.bind)(**kwargs)
        except TypeError as exc:
            accepted = [p for p, v in signature.parameters.items() if v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
            hint = next((closest(k, accepted) for k in kwargs if k not in accepted and closest(k, accepted)), None)
            raise ConfigError(f"{self.kind} {name!r}: {exc}; its arguments are: {', '.join(accepted) or '(none)'}"
                              + (f" (did you mean {hint!r}?)" if hint else "")) from None

    def names(self) -> list[str]:
        """Sorted registered names."""
        self._load_builtins()
        return sorted(self._items)

    def describe(self) -> dict[str, str]:
        """Name -> one-line description."""
        return {n: self._descriptions.get(n, "") for n in self.names()}

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            self._load_builtins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def import_submodules(package: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Import every direct submodule of ``package`` (except ``skip``) so that they register themselves.

    Registries fill by import: a new encoder, objective, reader, corpus or recipe is one new file
    (or sub-package), with no list to edit elsewhere. Returns the imported module names.
    """
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    names = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in skip:
            continue
        importlib.import_module(f"{package}.{info.name}")
        names.append(info.name)
    return names
