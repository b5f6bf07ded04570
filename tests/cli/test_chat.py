"""`mintformers generate --chat / --messages`: a conversation formatted by the tokenizer's chat template, answered
as the text-generation pipeline answers it."""

from __future__ import annotations

import io
import json

import pytest

from mintformers.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from mintformers.pipelines import pipeline

# Short, as the tiny MPT has 64 positions.
TEMPLATE = "{% for m in messages %}{{ m.role[0] }}: {{ m.content }} {% endfor %}{% if add_generation_prompt %}a:{% endif %}"
GREEDY = ["--max-new-tokens", "4"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "chatml.jinja"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def answer(models):
    """(streamed text, pipeline reply) for a conversation: the tokens the pipeline generates, decoded."""
    pipe = pipeline("text-generation", model=str(models["gen"]))
    pipe.tokenizer.chat_template = TEMPLATE

    def get(messages):
        prompt = pipe.tokenizer.apply_chat_template(messages, add_generation_prompt=True)
        ids = pipe(messages, max_new_tokens=4, do_sample=False, return_tensors=True)[0]["generated_token_ids"]
        reply = pipe(messages, max_new_tokens=4, do_sample=False, return_full_text=False)[0]["generated_text"]
        return pipe.tokenizer.decode(ids[len(prompt) :]), reply

    return get


def test_chat_sends_the_prompt_as_a_user_message(capsys, models, template, answer):
    code, out, err = run(capsys, "generate", "the cat", "--chat", "--chat-template", template, "--model", models["gen"], *GREEDY)
    assert code == EXIT_OK, err
    assert out.endswith("\n") and out.rstrip("\n") == answer([{"role": "user", "content": "the cat"}])[0]  # a whole line
    code, out, err = run(capsys, "generate", "the cat", "--chat", "--system", "be brief", "--chat-template", template,
                         "--model", models["gen"], *GREEDY, "--json")  # fmt: skip
    assert code == EXIT_OK, err
    data = json.loads(out)
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "the cat"}]
    assert data["messages"] == messages
    assert data["generated"][0]["generated_text"][-1] == {"role": "assistant", "content": answer(messages)[1]}


def test_messages_from_a_file_or_stdin(capsys, monkeypatch, models, template, answer, tmp_path):
    messages = [{"role": "user", "content": "the cat"}, {"role": "assistant", "content": "sat"},
                {"role": "user", "content": "and then?"}]  # fmt: skip
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(messages), encoding="utf-8")
    code, out, err = run(capsys, "generate", "--messages", path, "--chat-template", template, "--model", models["gen"], *GREEDY)
    assert code == EXIT_OK, err
    assert out.rstrip("\n") == answer(messages)[0]
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(messages)))
    code, out, err = run(capsys, "generate", "--messages", "-", "--chat-template", template, "--model", models["gen"], *GREEDY)
    assert code == EXIT_OK and out.rstrip("\n") == answer(messages)[0]


@pytest.mark.parametrize(
    "argv, code, words",
    [
        (["the cat", "--chat"], EXIT_ERROR, "has no chat template"),  # the tiny MPT's tokenizer has none
        (["--chat"], EXIT_USAGE, "needs a PROMPT"),
        (["the cat", "--system", "x"], EXIT_USAGE, "add --chat"),
        (["the cat", "--messages", "m.json"], EXIT_USAGE, "no PROMPT"),
        (["--messages", "missing.json"], EXIT_ERROR, "File not found"),
        (["--messages", "{bad}"], EXIT_ERROR, "is not JSON"),
        (["--messages", "[1]"], EXIT_ERROR, "non-empty JSON list of messages"),
        (["the cat", "--chat", "--chat-template", "missing.jinja"], EXIT_ERROR, "Cannot read the chat template"),
    ],
)
def test_chat_errors(capsys, models, tmp_path, monkeypatch, argv, code, words):
    monkeypatch.chdir(tmp_path)
    for name, text in (("{bad}", "{bad"), ("[1]", "[1]"), ("m.json", "[]")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    got, out, err = run(capsys, "generate", *argv, "--model", models["gen"], *GREEDY)
    assert got == code and words in err and "Traceback" not in err, err
