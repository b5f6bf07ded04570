"""Chat templates against transformers 4.57.6: rendered text, ids and dict outputs for several templates (generation
prompts, continue_final_message, tools as schemas and as functions, documents, named templates, assistant masks),
the files written and read (chat_template.jinja, additional_chat_templates/, tokenizer_config.json), and MPT's
text-generation pipeline given messages."""

from __future__ import annotations

import json
import os
from typing import Literal

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
from transformers.utils import get_json_schema as ref_get_json_schema  # noqa: E402

import mintformers  # noqa: E402
from byte_bpe import write_neox_tokenizer  # noqa: E402
from mintformers.tokenization import AutoTokenizer, BertTokenizer, BertTokenizerFast  # noqa: E402
from mintformers.tokenization.chat_template import get_json_schema  # noqa: E402
from pipelines.tiny import write_mpt_checkpoint  # noqa: E402

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)  # MPT-7b-chat's
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
TOOLS = """{%- if tools %}<|im_start|>system
You can call these tools:
{% for tool in tools %}{{ tool | tojson(indent=2, sort_keys=True) }}
{% endfor %}<|im_end|>
{% endif %}
{%- if documents %}<|im_start|>system
{% for doc in documents %}[{{ loop.index }}] {{ doc.title }}: {{ doc.text }}
{% endfor %}<|im_end|>
{% endif %}
{%- for message in messages %}
{%- if message.role == 'tool' %}<|im_start|>tool
{{ message.content | tojson }}<|im_end|>
{% elif message.tool_calls is defined %}<|im_start|>assistant
{% for call in message.tool_calls %}<tool_call>{{ call.function | tojson(separators=(',', ':')) }}</tool_call>{% endfor %}<|im_end|>
{% else %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""
# Content given as blocks, {% generation %} around assistant text, loop controls, a namespace, and a user variable.
BLOCKS = """{%- set ns = namespace(turns=0) %}
{%- for message in messages %}
{%- if message.role == 'ignore' %}{% continue %}{% endif %}
{%- if ns.turns >= max_turns | default(99) %}{% break %}{% endif %}
{%- set ns.turns = ns.turns + 1 %}
{{- message.role | upper }}:{{ ' ' }}
{%- if message.content is string %}{% set text = message.content %}
{%- else %}{% set text = message.content | selectattr('type', 'equalto', 'text') | map(attribute='text') | join(' ') %}
{%- endif %}
{%- if message.role == 'assistant' %}{% generation %}{{ text }}{{ eos_token }}{% endgeneration %}
{%- else %}{{ text }}{% endif %}
{% endfor %}
{%- if add_generation_prompt %}ASSISTANT:{% endif %}"""

TEMPLATES = {"chatml": CHATML, "llama2": LLAMA2, "tools": TOOLS, "blocks": BLOCKS}
CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello world! What is the weather?"},
    {"role": "assistant", "content": "  It is sunny, don't worry.  "},
    {"role": "user", "content": "Héllo again 😀 中文"},
]
CHAT_ENDING_WITH_ASSISTANT = [*CHAT, {"role": "assistant", "content": "Well, I think"}]
BLOCK_CHAT = [
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]},
    {"role": "ignore", "content": "skipped"},
    {"role": "assistant", "content": [{"type": "text", "text": "A fox,"}, {"type": "text", "text": "quick and brown"}]},
]
TOOL_CHAT = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                                            "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": {"temperature": 21, "unit": "°C <ok>"}},
]  # fmt: skip
DOCUMENTS = [{"title": "Paris", "text": "The capital of France."}, {"title": "Fox", "text": "A quick brown animal."}]
CORPUS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nIt is sunny, don't worry.<|im_end|>",
    "Héllo wörld, naïve café 😀 中文 [INST] <<SYS>> system [/INST] tool_call weather Paris",
] * 8


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: int | None = None) -> dict:
    """Get the weather forecast of a city.

    Args:
        city: The city, e.g. "Paris".
        unit: The temperature unit (choices: ["celsius", "fahrenheit"])
        days: How many days
            to forecast.

    Returns:
        The forecast, by day.
    """
    return {}


def search(queries: list[str], filters: dict[str, int | float], window: tuple[int, str], exact: bool = False):
    """Search the documents.

    Args:
        queries: What to look for.
        filters: Numeric filters by field.
        window: A (size, unit) pair.
        exact: Whether to match exactly.
    """


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A byte-level BPE folder (MPT's tokenizer layout) and a BERT vocabulary folder, each with special tokens."""
    bpe = write_neox_tokenizer(tmp_path_factory.mktemp("bpe"), CORPUS, 400, add_prefix_space=False)
    bert = tmp_path_factory.mktemp("bert")
    words = sorted({w for line in CORPUS for w in line.lower().replace("\n", " ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *sorted(set("".join(CORPUS).lower()) - set(" \n"))]
    (bert / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    return {"bpe": bpe, "bert": bert}


KINDS = ["bpe", "bert_fast", "bert_slow"]


@pytest.fixture(scope="module")
def pairs(folders):
    """kind → (ours, reference), loaded from the same folder."""

    def load(kind):
        if kind == "bpe":
            return AutoTokenizer.from_pretrained(folders["bpe"]), transformers.AutoTokenizer.from_pretrained(folders["bpe"])
        if kind == "bert_fast":
            return BertTokenizerFast.from_pretrained(folders["bert"]), transformers.BertTokenizerFast.from_pretrained(folders["bert"])  # fmt: skip
        return BertTokenizer.from_pretrained(folders["bert"]), transformers.BertTokenizer.from_pretrained(folders["bert"])

    loaded = {kind: load(kind) for kind in KINDS}
    for ours, ref in loaded.values():
        ours.bos_token = ref.bos_token = ours.bos_token or "[CLS]"  # for LLAMA2's bos_token / eos_token
        ours.eos_token = ref.eos_token = ours.eos_token or "[SEP]"
    return loaded


def assert_same(a, b):
    if hasattr(b, "keys"):
        assert sorted(a.keys()) == sorted(b.keys())
        for key in b.keys():
            assert_same(a[key], b[key])
    elif isinstance(b, torch.Tensor):
        assert isinstance(a, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


def both(pair, *args, **kwargs):
    """Call apply_chat_template on both; equal results, or the same exception type whose message starts the same."""
    ours, ref = pair
    try:
        expected = ref.apply_chat_template(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)) as got:
            ours.apply_chat_template(*args, **kwargs)
        assert str(got.value)[:40] == str(e)[:40]
        return None
    result = ours.apply_chat_template(*args, **kwargs)
    assert_same(result, expected)
    return result


OPTIONS = [
    dict(tokenize=False),
    dict(tokenize=False, add_generation_prompt=True),
    dict(),
    dict(add_generation_prompt=True, return_dict=True),
    dict(return_dict=True, return_tensors="pt", truncation=True, max_length=12),
    dict(return_dict=True, return_tensors="np", tokenizer_kwargs={"return_token_type_ids": False}),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["chatml", "llama2", "blocks"])
def test_render_and_tokenize(pairs, kind, name):
    chat = BLOCK_CHAT if name == "blocks" else CHAT
    for options in OPTIONS:
        both(pairs[kind], chat, chat_template=TEMPLATES[name], **options)
    text = both(pairs[kind], CHAT_ENDING_WITH_ASSISTANT, chat_template=TEMPLATES[name], continue_final_message=True,
                tokenize=False)  # fmt: skip
    if name != "llama2":  # (llama2 rejects two assistant turns in a row: the same exception, checked by both())
        assert text.endswith("Well, I think") or text.endswith("quick and brown")
    both(pairs[kind], BLOCK_CHAT, chat_template=TEMPLATES[name], continue_final_message=True, tokenize=False)


@pytest.mark.parametrize("kind", KINDS)
def test_batched_conversations_pad_and_truncate(pairs, kind):
    batch = [CHAT, CHAT[:2], CHAT_ENDING_WITH_ASSISTANT]
    for options in (dict(tokenize=False, add_generation_prompt=True), dict(), dict(padding=True, return_dict=True),
                    dict(padding="max_length", max_length=40, truncation=True, return_tensors="pt", return_dict=True),
                    dict(padding=True, return_tensors="np")):  # fmt: skip
        both(pairs[kind], batch, chat_template=CHATML, **options)
    for ours, ref in [pairs[kind]]:
        ours.padding_side = ref.padding_side = "left"
        try:
            both(pairs[kind], batch, chat_template=CHATML, padding=True, return_dict=True, return_tensors="pt")
        finally:
            ours.padding_side = ref.padding_side = "right"


@pytest.mark.parametrize("kind", ["bpe", "bert_slow"])
def test_tools_documents_and_template_variables(pairs, kind):
    weather = ref_get_json_schema(get_weather)
    for tools in ([weather], [get_weather, search], None):
        for documents in (DOCUMENTS, None):
            both(pairs[kind], TOOL_CHAT, tools=tools, documents=documents, chat_template=TOOLS, tokenize=False,
                 add_generation_prompt=True)  # fmt: skip
            both(pairs[kind], TOOL_CHAT, tools=tools, documents=documents, chat_template=TOOLS)
    # keyword arguments reach the template and win over the special tokens of the same name
    both(pairs[kind], BLOCK_CHAT, chat_template=BLOCKS, max_turns=1, tokenize=False)
    both(pairs[kind], BLOCK_CHAT, chat_template=BLOCKS, eos_token="<END>", tokenize=False)
    both(pairs[kind], TOOL_CHAT, tools=[print], chat_template=TOOLS)  # a builtin: no schema (ValueError)
    both(pairs[kind], TOOL_CHAT, documents=["not a dict"], chat_template=TOOLS)  # TypeError


def test_json_schemas_of_tool_functions():
    def no_doc(x: int):
        pass

    def no_hint(x):
        """Doc.

        Args:
            x: a number
        """

    def undocumented_arg(x: int, y: int):
        """Doc.

        Args:
            x: a number
        """

    def single_tuple(x: tuple[int]):
        """Doc.

        Args:
            x: one
        """

    for function in (get_weather, search):
        assert get_json_schema(function) == ref_get_json_schema(function)
    for function in (no_doc, no_hint, undocumented_arg, single_tuple):
        with pytest.raises(Exception) as ref_error:
            ref_get_json_schema(function)
        with pytest.raises(ValueError) as error:
            get_json_schema(function)
        assert type(error.value).__name__ == type(ref_error.value).__name__


@pytest.mark.parametrize("kind", KINDS)
def test_errors_equal_the_reference(pairs, kind):
    pair = pairs[kind]
    bad_order = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    both(pair, bad_order, chat_template=LLAMA2)  # raise_exception → jinja2 TemplateError
    both(pair, CHAT, chat_template=CHATML, tokenize=False, return_dict=True)
    both(pair, CHAT, chat_template=CHATML, return_assistant_tokens_mask=True)
    both(pair, CHAT, chat_template=CHATML, continue_final_message=True, add_generation_prompt=True)
    both(pair, CHAT, chat_template="{{ messages[0]['content'][:3] }}", continue_final_message=True)  # message cut
    both(pair, [{"role": "user", "content": [{"type": "image"}]}], chat_template=BLOCKS, continue_final_message=True)
    both(pair, CHAT)  # no template at all


@pytest.mark.parametrize("kind", ["bpe", "bert_fast"])
def test_assistant_token_masks(pairs, kind):
    chat = [*BLOCK_CHAT, {"role": "user", "content": "More?"}, {"role": "assistant", "content": "Lazy dog."}]
    for options in (dict(), dict(return_tensors="pt"), dict(return_tensors="np")):
        both(pairs[kind], chat, chat_template=BLOCKS, return_dict=True, return_assistant_tokens_mask=True, **options)
        both(pairs[kind], [chat, chat[:3]], chat_template=BLOCKS, return_dict=True, return_assistant_tokens_mask=True,
             padding=True, **options)  # fmt: skip
    both(pairs[kind], chat, chat_template=BLOCKS, return_dict=True, return_assistant_tokens_mask=True, truncation=True,
         max_length=6)  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_encode_message_by_message(pairs, kind):
    ours, ref = pairs[kind]
    for i in range(len(CHAT)):
        kwargs = dict(conversation_history=CHAT[:i], chat_template=CHATML)
        assert ours.encode_message_with_chat_template(CHAT[i], **kwargs) == ref.encode_message_with_chat_template(
            CHAT[i], **kwargs
        )


def test_named_templates_pick_like_the_reference(pairs):
    ours, ref = pairs["bpe"]
    named = {"default": CHATML, "tool_use": TOOLS, "blocks": BLOCKS}
    try:
        ours.chat_template, ref.chat_template = dict(named), dict(named)
        for kwargs in (dict(), dict(tools=[get_weather]), dict(chat_template="blocks"), dict(chat_template=LLAMA2)):
            both((ours, ref), TOOL_CHAT[:1], tokenize=False, **kwargs)
        del ours.chat_template["default"], ref.chat_template["default"]
        both((ours, ref), CHAT, tokenize=False)  # several templates, none named default
        both((ours, ref), CHAT, tools=[get_weather], tokenize=False)
    finally:
        ours.chat_template = ref.chat_template = None


def _files(directory):
    return {
        str(path.relative_to(directory)): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("template", [CHATML, {"default": CHATML, "tool_use": TOOLS}, {"tool_use": TOOLS, "x": BLOCKS}])
@pytest.mark.parametrize("save_jinja_files", [True, False])
def test_template_files_written_and_read_as_the_reference(pairs, tmp_path, kind, template, save_jinja_files):
    ours, ref = pairs[kind]
    try:
        ours.chat_template, ref.chat_template = template, template
        written = ours.save_pretrained(tmp_path / "ours", save_jinja_files=save_jinja_files)
        expected = ref.save_pretrained(tmp_path / "ref", save_jinja_files=save_jinja_files)
    finally:
        ours.chat_template = ref.chat_template = None
    # (the reference also lists an added_tokens.json it did not write)
    assert sorted(p.replace("/ours/", "/") for p in written) == sorted(
        p.replace("/ref/", "/") for p in expected if os.path.exists(p)
    )
    ours_files, ref_files = _files(tmp_path / "ours"), _files(tmp_path / "ref")
    assert sorted(ours_files) == sorted(ref_files)
    for name, text in ref_files.items():
        if name.endswith(".jinja"):
            assert ours_files[name] == text
    ours_config = json.loads(ours_files["tokenizer_config.json"])
    ref_config = json.loads(ref_files["tokenizer_config.json"])
    assert ours_config.get("chat_template") == ref_config.get("chat_template")
    # each loads the other's folder with the same templates
    mine = type(ours).from_pretrained(tmp_path / "ref")
    theirs = type(ref).from_pretrained(tmp_path / "ours")
    assert mine.chat_template == theirs.chat_template == template


def test_jinja_file_wins_over_the_config(folders, tmp_path):
    directory = tmp_path / "both"
    directory.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (directory / name).write_bytes((folders["bpe"] / name).read_bytes())
    config = json.loads((directory / "tokenizer_config.json").read_text())
    (directory / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": LLAMA2}))
    (directory / "chat_template.jinja").write_text(CHATML)
    assert AutoTokenizer.from_pretrained(directory).chat_template == CHATML
    assert transformers.AutoTokenizer.from_pretrained(directory).chat_template == CHATML
    (directory / "additional_chat_templates").mkdir()
    (directory / "additional_chat_templates" / "tools.jinja").write_text(TOOLS)
    expected = transformers.AutoTokenizer.from_pretrained(directory).chat_template
    assert AutoTokenizer.from_pretrained(directory).chat_template == expected == {"default": CHATML, "tools": TOOLS}


# ---- MPT's text-generation pipeline, given messages ---------------------------------------------------------------


@pytest.fixture(scope="module")
def chat_generators(tmp_path_factory):
    directory = write_mpt_checkpoint(transformers, tmp_path_factory.mktemp("mpt_chat"), seed=3)
    (directory / "chat_template.jinja").write_text(CHATML, encoding="utf-8")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield (transformers.pipeline("text-generation", model=str(directory)),
           mintformers.pipeline("text-generation", model=str(directory)))  # fmt: skip
    torch.set_num_threads(threads)


GREEDY = dict(max_new_tokens=5, do_sample=False)
SHORT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "The sky"}]  # MPT here has 64 positions
SHORT_ENDING_WITH_ASSISTANT = [*SHORT, {"role": "assistant", "content": "It is"}]


@pytest.mark.parametrize(
    "chat, options",
    [
        (SHORT, GREEDY),
        (SHORT, {**GREEDY, "return_full_text": False}),
        (SHORT, {**GREEDY, "return_tensors": True}),
        (SHORT_ENDING_WITH_ASSISTANT, GREEDY),  # continues the final message
        (SHORT_ENDING_WITH_ASSISTANT, {**GREEDY, "continue_final_message": False}),
        ([SHORT, SHORT[1:]], GREEDY),  # a batch of conversations
    ],
)
def test_text_generation_pipeline_takes_messages(chat_generators, chat, options):
    ref, ours = chat_generators
    assert ours(chat, **options) == ref(chat, **options)
