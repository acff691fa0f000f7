"""Configuration: dataclass defaults, presets found by name, overrides, validation up front."""

from __future__ import annotations

import dataclasses

import pytest

from longvid.config import PipelineConfig, find_preset, preset_names
from longvid.errors import InvalidArgumentError


def test_every_shipped_preset_loads_and_names_itself():
    names = preset_names()
    assert {"default", "fast", "accurate", "grounding", "tiny"} <= set(names)
    for name in names:
        config = PipelineConfig.from_preset(name)
        assert config.preset == name
        assert find_preset(name).read_text().startswith("description = ")


def test_presets_only_override_what_they_say():
    defaults, fast, tiny = PipelineConfig(), PipelineConfig.from_preset("fast"), PipelineConfig.from_preset("tiny")
    assert fast.decode.mode == "keyframes" and fast.search.frames == 16 and fast.tokens.budget == 1024
    assert fast.scenes == defaults.scenes and fast.llm == defaults.llm
    assert tiny.embed.model == "tiny" and tiny.answer.answerer == "grounding"
    assert dataclasses.replace(tiny, preset="defaults", embed=defaults.embed, answer=defaults.answer) == defaults
    assert PipelineConfig.from_preset("default").with_overrides({}) == dataclasses.replace(defaults, preset="default")
    llm = PipelineConfig.from_preset("tiny-llm")
    assert llm.embed.model == "tiny" and llm.answer.answerer == "llm" and llm.llm.model == "tiny"
    assert llm.search.strategy == "dense" and llm.search.frames == 16 and llm.tokens.budget == 512


def test_overrides_ignore_none_and_validate_values():
    config = PipelineConfig().with_overrides({"search": {"frames": 8, "strategy": None}, "tokens": {"budget": 100}})
    assert config.search.frames == 8 and config.search.strategy == PipelineConfig().search.strategy
    assert config.tokens.budget == 100
    for bad, message in [
        ({"search": {"frames": 0}}, "search.frames = 0 is invalid"),
        ({"decode": {"fps": -1}}, "decode.fps = -1 is invalid"),
        ({"decode": {"mode": "fast"}}, "decode.mode = 'fast' is invalid"),
        ({"answer": {"answerer": "x"}}, "answer.answerer = 'x' is invalid"),
        ({"nope": {}}, "unknown section [nope]"),
        ({"search": {"frame": 3}}, "unknown setting search.frame"),
        ({"search": {"strategy": "best"}}, "search.strategy = 'best' is invalid; expected one of aks, aks-z, bolt"),
    ]:
        with pytest.raises(InvalidArgumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
            PipelineConfig().with_overrides(bad)


def test_preset_files_by_path_and_bad_files(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text('description = "x"\n[search]\nframes = 3\n')
    config = PipelineConfig.from_preset(str(good))
    assert config.search.frames == 3 and config.preset == "mine"
    broken = tmp_path / "broken.toml"
    broken.write_text("[search\n")
    with pytest.raises(InvalidArgumentError, match="not valid TOML"):
        PipelineConfig.from_preset(str(broken))
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        PipelineConfig.from_preset(str(tmp_path / "missing.toml"))
    with pytest.raises(InvalidArgumentError, match="unknown preset 'nope'; choose one of: .*default"):
        PipelineConfig.from_preset("nope")


def test_store_location_flag_env_and_platform_default(monkeypatch, tmp_path):
    from longvid.config import StoreConfig

    monkeypatch.setenv("LONGVID_STORE", str(tmp_path / "env"))
    assert StoreConfig().resolved_path() == tmp_path / "env"
    assert StoreConfig(path=str(tmp_path / "flag")).resolved_path() == tmp_path / "flag"
    monkeypatch.delenv("LONGVID_STORE")
    assert StoreConfig().resolved_path().parts[-2:] == ("longvid", "store")
