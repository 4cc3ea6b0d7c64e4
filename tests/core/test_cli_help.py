"""Help that teaches: examples on every subcommand, help text and defaults on every option, config keys."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from neurorep.cli import HelpFormatter, build_parser, main, plain_text, recipe_presets

ROOT = Path(__file__).resolve().parents[2]


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix}{name}", sub))
                found += _subparsers(sub, f"{prefix}{name} ")
    return found


SUBCOMMANDS = _subparsers(build_parser())


def test_every_subcommand_is_found() -> None:
    names = {n for n, _ in SUBCOMMANDS}
    assert {"data simulate", "data prepare", "data info", "run", "benchmark", "evaluate", "export",
            "registry register", "list"} <= names


@pytest.mark.parametrize(("name", "parser"), SUBCOMMANDS, ids=[n for n, _ in SUBCOMMANDS])
def test_help_ends_with_examples_and_documents_every_option(name: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    tail = text.split("examples:\n", 1)
    assert len(tail) == 2, f"`neurorep {name} --help` has no examples"
    examples = [ln.strip() for ln in tail[1].splitlines() if ln.strip()]
    assert 2 <= len(examples) <= 3 and all(e.startswith(("neurorep ", "python ")) for e in examples), examples
    assert isinstance(parser.formatter_class, type) and issubclass(parser.formatter_class, HelpFormatter)
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        assert action.help, f"`neurorep {name}`: {action.option_strings or action.dest} has no help text"
        shown = HelpFormatter("neurorep")._get_help_string(action) or ""
        if action.default not in (None, False, [], argparse.SUPPRESS):
            assert "default" in shown, f"`neurorep {name}`: {action.option_strings} does not show its default"


def test_help_examples_run_as_written() -> None:
    """Every example of every --help parses (no made-up options or subcommands)."""
    import shlex

    for name, parser in SUBCOMMANDS:
        for line in parser.epilog.splitlines()[1:]:
            words = shlex.split(line.split("   #")[0])
            if words[0] == "neurorep":
                build_parser().parse_known_args(words[1:])


def test_preset_help_lists_each_recipe_presets() -> None:
    presets = recipe_presets()
    for recipe in ("sleep-ssl", "kd-sleep", "eeg-image", "meg-ablation", "foundation"):
        shipped = sorted(p.stem for p in (ROOT / "src/neurorep/recipes" / recipe.replace("-", "_") / "presets").glob("*.yaml"))
        assert presets[recipe] == shipped
    help_text = dict(SUBCOMMANDS)["benchmark"].format_help()
    assert "kd-sleep: full, medium, quick" in " ".join(help_text.split())


def test_prepare_help_defaults_match_the_config() -> None:
    from neurorep.data.windows import PrepareConfig

    text = " ".join(dict(SUBCOMMANDS)["data prepare"].format_help().split())
    fields = PrepareConfig.model_fields
    assert f"(default: {fields['scheme'].default})" in text
    assert f"(default: {fields['window_s'].default:g})" in text
    assert f"(default: {fields['sfreq'].default:g})" in text


def test_help_keys_lists_types_values_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    config = ROOT / "configs/sleep-ssl/quick_sim_cnn_crl.yaml"
    assert main(["run", str(config), "pretrain.epochs=3", "--help-keys"]) == 0
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines()[2:] if ln.strip()}
    assert lines["pretrain.epochs"][1:4] == ["int", "3", "10"]  # type, value here (with the override), default
    assert lines["data.simulate.subjects"][1] == "int" and "encoder.name" in lines
    assert main(["run", str(config), "pretrain.epoch=3", "--help-keys"]) == 2  # a wrong key is still an error


def test_list_descriptions_have_no_rest_markup(capsys: pytest.CaptureFixture[str]) -> None:
    assert plain_text("Maps ``x[B, C, T]`` via :class:`~neurorep.data.cache.WindowCache`.") == \
        "Maps x[B, C, T] via WindowCache."
    for what in ("encoders", "objectives", "datasets", "recipes", "corpora"):
        assert main(["list", what]) == 0
        out = capsys.readouterr().out
        assert out.strip() and "``" not in out and ":class:" not in out
