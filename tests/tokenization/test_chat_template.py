"""Chat templates beyond parity: the sandbox holds against hostile templates, the reference's globals and filters
behave as documented. Parity with transformers is in tests/reference/test_chat_template_parity.py."""

from __future__ import annotations

import copy
import datetime

import jinja2
import pytest
from jinja2.exceptions import SecurityError

from mintformers.tokenization import PreTrainedTokenizerFast

CHAT = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi <b>there</b> & co"}]


@pytest.fixture(scope="module")
def tokenizer(bpe_dir):
    return PreTrainedTokenizerFast.from_pretrained(bpe_dir)


def render(tokenizer, template, chat=CHAT, **kwargs):
    return tokenizer.apply_chat_template(chat, chat_template=template, tokenize=False, **kwargs)


HOSTILE = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",  # walk to every class in the process
    "{{ raise_exception.__globals__['__builtins__'] }}",  # a global's module namespace
    "{{ strftime_now.__globals__ }}",
    "{{ messages.__class__.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('echo pwned') }}",
    "{% for m in messages %}{{ m.__class__ }}{% endfor %}",
    "{{ messages.append({'role': 'x', 'content': 'y'}) }}",  # the immutable sandbox: no changing the inputs
    "{{ messages[0].update({'content': 'changed'}) }}",
    "{{ messages.pop() }}",
    "{% set _ = messages[0].clear() %}",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_templates_are_refused_and_change_nothing(tokenizer, template):
    chat = copy.deepcopy(CHAT)
    try:
        text = render(tokenizer, template, chat)
    except (SecurityError, jinja2.exceptions.UndefinedError):
        pass
    else:
        assert text == ""  # an unsafe attribute that is only printed reads as undefined: nothing leaks
    assert chat == CHAT


def test_reference_globals_and_filters(tokenizer):
    # tojson: no HTML escaping (Jinja's own would write \u003c), the reference's keyword arguments
    assert render(tokenizer, "{{ messages[1].content | tojson }}") == '"Hi <b>there</b> & co"'
    assert render(tokenizer, "{{ {'b': 1, 'a': [1, 2]} | tojson(sort_keys=True, separators=(',', ':')) }}") == (
        '{"a":[1,2],"b":1}'
    )
    assert render(tokenizer, "{{ 'é' | tojson(ensure_ascii=True) }}") == '"\\u00e9"'
    assert render(tokenizer, "{{ {'a': 1} | tojson(indent=2) }}") == '{\n  "a": 1\n}'
    before = datetime.datetime.now().strftime("%Y-%m-%d")
    today = render(tokenizer, "{{ strftime_now('%Y-%m-%d') }}")
    assert today in {before, datetime.datetime.now().strftime("%Y-%m-%d")}
    with pytest.raises(jinja2.exceptions.TemplateError, match="only user and assistant"):
        render(tokenizer, "{{ raise_exception('only user and assistant roles') }}")
    # trim_blocks / lstrip_blocks, loop controls, special tokens as variables
    template = "  {% for m in messages %}\n{% if loop.index > 1 %}{% break %}{% endif %}[{{ m.role }}]{{ eos_token }}\n{% endfor %}"
    assert render(tokenizer, template) == "[user]<|endoftext|>\n"


def test_template_syntax_errors_name_the_line(tokenizer):
    with pytest.raises(jinja2.exceptions.TemplateSyntaxError) as error:
        render(tokenizer, "line one\n{% for m in messages %}{{ m.content }}")
    assert error.value.lineno == 2


def test_slow_tokenizers_render_too(bert_dir):
    from mintformers.tokenization import BertTokenizer

    slow = BertTokenizer.from_pretrained(bert_dir)
    slow.chat_template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    assert slow.apply_chat_template(CHAT, tokenize=False) == "user: Hello\nassistant: Hi <b>there</b> & co\n"
    assert slow.apply_chat_template(CHAT) == slow("user: Hello\nassistant: Hi <b>there</b> & co\n", add_special_tokens=False)["input_ids"]


def test_a_later_save_never_leaves_an_older_template_behind(tokenizer, tmp_path):
    from mintformers.tokenization import PreTrainedTokenizerFast

    tokenizer.chat_template = {"default": "old {{ messages[0].content }}", "tools": "old tools"}
    try:
        tokenizer.save_pretrained(tmp_path)  # chat_template.jinja + additional_chat_templates/tools.jinja
        tokenizer.chat_template = "new {{ messages[0].content }}"
        tokenizer.save_pretrained(tmp_path, save_jinja_files=False)  # into tokenizer_config.json only
    finally:
        tokenizer.chat_template = None
    reloaded = PreTrainedTokenizerFast.from_pretrained(tmp_path)
    assert reloaded.chat_template == "new {{ messages[0].content }}"
    assert not (tmp_path / "chat_template.jinja").exists() and not (tmp_path / "additional_chat_templates" / "tools.jinja").exists()


def _fake_hub_cache(cache, repo_id, source_dir, revision="0" * 40):
    """`source_dir` laid out as huggingface_hub caches a downloaded repo (subfolders included)."""
    import shutil

    root = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(source_dir, root / "snapshots" / revision)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(revision)
    return root / "snapshots" / revision


def test_named_templates_of_a_hub_repo(tokenizer, tmp_path, monkeypatch):
    import huggingface_hub
    import huggingface_hub.constants
    import huggingface_hub.errors

    from mintformers import hub

    tokenizer.chat_template = {"default": "D", "tool_use": "T", "rag": "R"}
    try:
        tokenizer.save_pretrained(tmp_path / "src")
    finally:
        tokenizer.chat_template = None
    snapshot = _fake_hub_cache(tmp_path / "cache", "someone/chat", tmp_path / "src")
    # offline: the templates the cache holds
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    loaded = PreTrainedTokenizerFast.from_pretrained("someone/chat", cache_dir=tmp_path / "cache")
    assert loaded.chat_template == {"default": "D", "tool_use": "T", "rag": "R"}
    # online: the Hub's listing decides (here it lists only one of the cached templates)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "_unreachable_since", None)
    monkeypatch.setattr(hub, "_hub_host_resolves", lambda: True)  # the Hub's name resolves (this machine: no DNS)
    listed = []

    def list_repo_tree(repo_id, path_in_repo=None, revision=None, token=None, recursive=False):
        listed.append((repo_id, path_in_repo))
        return [type("Entry", (), {"path": "additional_chat_templates/rag.jinja"})()]

    def hf_hub_download(repo_id, filename, subfolder=None, **kwargs):  # the cached file, as a download returns it
        path = snapshot / filename
        if not path.is_file():
            raise huggingface_hub.errors.EntryNotFoundError(filename)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "list_repo_tree", list_repo_tree)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    loaded = PreTrainedTokenizerFast.from_pretrained("someone/chat", cache_dir=tmp_path / "cache")
    assert listed == [("someone/chat", "additional_chat_templates")]
    assert loaded.chat_template == {"default": "D", "rag": "R"}
