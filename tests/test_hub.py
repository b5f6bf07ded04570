"""Hub ids resolve through huggingface_hub's cache; offline mode and missing models give clear errors."""

from __future__ import annotations

import shutil

import pytest
import torch

from mintformers import BertConfig, BertModel, CheckpointError

from parity import perturb_


def fake_hub_cache(cache, repo_id, source_dir, revision="0" * 40):
    """Lay out `source_dir` the way huggingface_hub caches a downloaded repo."""
    root = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = root / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for f in source_dir.iterdir():
        shutil.copy(f, snapshot / f.name)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(revision)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)


def test_hub_id_loads_from_cache_offline(tmp_path, offline):
    model = perturb_(BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20))).eval()
    model.save_pretrained(tmp_path / "src")
    fake_hub_cache(tmp_path / "cache", "someone/tiny-bert", tmp_path / "src")
    loaded = BertModel.from_pretrained("someone/tiny-bert", cache_dir=tmp_path / "cache")
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert torch.equal(loaded(ids).last_hidden_state, model(ids).last_hidden_state)


def test_offline_and_not_cached_is_a_clear_error(tmp_path, offline):
    with pytest.raises(CheckpointError, match="offline mode is on .* not in the local cache"):
        BertModel.from_pretrained("someone/not-downloaded", cache_dir=tmp_path)


def test_not_a_path_nor_a_repo_id(tmp_path):
    with pytest.raises(CheckpointError, match="neither an existing local directory"):
        BertModel.from_pretrained("./no/such/dir/here")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="is a file, not a checkpoint directory"):
        BertModel.from_pretrained(tmp_path / "file.bin")


def test_unreachable_hub_is_asked_once_then_the_cache_only(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from mintformers import hub

    calls = []

    def no_network(repo_id, filename, local_files_only=False, **kwargs):
        calls.append(local_files_only)
        raise LocalEntryNotFoundError("Connection error, and the file is not in the cache.")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    monkeypatch.setattr(hub, "_unreachable_since", None)
    monkeypatch.setattr(hub, "_hub_host_resolves", lambda: True)  # a network that fails later than name lookup
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert hub.resolve_file("someone/not-downloaded", "modules.json", required=False, cache_dir=tmp_path) is None
    with pytest.raises(CheckpointError, match="the Hub is unreachable and it is not in the local cache"):
        BertModel.from_pretrained("someone/not-downloaded", cache_dir=tmp_path)
    assert calls == [False, True]  # after one failed connection: the cache only, no more timeouts
    monkeypatch.setattr(hub, "_unreachable_since", hub._unreachable_since - hub.UNREACHABLE_FOR_S)
    calls.clear()
    with pytest.raises(CheckpointError):
        BertModel.from_pretrained("someone/not-downloaded", cache_dir=tmp_path)
    assert calls == [False]  # after the grace period the Hub is tried again


def test_a_machine_without_network_goes_to_the_cache_at_once(tmp_path, monkeypatch):
    """huggingface_hub would retry for ~25 s; when the Hub's name does not even resolve, the cache answers alone."""
    import socket

    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from mintformers import hub

    calls = []

    def cache_only(repo_id, filename, local_files_only=False, **kwargs):
        calls.append(local_files_only)
        raise LocalEntryNotFoundError("not in the cache")

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", cache_only)
    monkeypatch.setattr(hub, "_unreachable_since", None)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    for var in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(CheckpointError, match="Cannot get 'config.json' for 'someone/model': the Hub is unreachable"):
        BertModel.from_pretrained("someone/model", cache_dir=tmp_path)
    assert calls == [True]


def test_trust_remote_code_is_ignored_the_same_way_everywhere(minilm_dir, tmp_path, caplog):
    """Every entry point accepts trust_remote_code=True (scripts written for other libraries pass it), warns, and
    runs no code; a checkpoint that needs its own code fails on its model type, naming it."""
    import json

    from mintformers import AutoModel, AutoTokenizer, BertTokenizerFast, CrossEncoder, SentenceTransformer, pipeline

    plain = tmp_path / "plain"  # a plain checkpoint (no modules.json), as a cross-encoder is saved
    shutil.copytree(minilm_dir, plain, ignore=shutil.ignore_patterns("modules.json"))
    loaders = [
        lambda: AutoModel.from_pretrained(minilm_dir, trust_remote_code=True),
        lambda: AutoTokenizer.from_pretrained(minilm_dir, trust_remote_code=True),
        lambda: BertTokenizerFast.from_pretrained(minilm_dir, trust_remote_code=True),
        lambda: pipeline("feature-extraction", model=str(minilm_dir), trust_remote_code=True, device="cpu"),
        lambda: SentenceTransformer(str(minilm_dir), trust_remote_code=True, device="cpu"),
        lambda: CrossEncoder(str(plain), num_labels=1, trust_remote_code=True, device="cpu"),
    ]
    for load in loaders:
        caplog.clear()
        with caplog.at_level("WARNING", logger="mintformers.hub"):
            assert load() is not None
        assert "trust_remote_code=True is ignored" in caplog.text

    custom = tmp_path / "custom"
    shutil.copytree(minilm_dir, custom)
    config = json.loads((custom / "config.json").read_text())
    config.update(model_type="my-custom-bert", auto_map={"AutoModel": "modeling_custom.MyModel"})
    (custom / "config.json").write_text(json.dumps(config))
    (custom / "modeling_custom.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(ValueError, match="'my-custom-bert' model that needs the code in its own repository"):
        AutoModel.from_pretrained(custom, trust_remote_code=True)
