"""The playground page in a real headless Chromium (Debian's `chromium`, driven by playwright; never a downloaded
browser): it loads without asking anything of another host, a search returns ranked results, fill-mask,
classification and reranking list theirs, the API key box unlocks a keyed server, a stream shows tokens arriving;
and /docs' Swagger UI renders from the server's own files.
Screenshots are kept in .cache/test-artifacts/ (git-ignored) to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_helpers import plain, required, task_pipeline

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".cache" / "test-artifacts"


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        required("Debian's chromium", "sh tools/install_test_packages.sh (make test runs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1000, "height": 1100})
        page.requested = []  # every URL the page asks for
        page.on("request", lambda request: page.requested.append(request.url))
        yield page
        browser.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"playground-{name}.png"), full_page=True)


def open_playground(page, url: str, task: str) -> None:
    page.requested.clear()
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='ok']")
    assert task in page.inner_text("#model")
    assert page.requested and all(u.startswith(url + "/") for u in page.requested), page.requested  # works offline


def test_search_ranks_the_pasted_texts(page, module_servers, minilm):
    url = module_servers.start("embed", minilm, name="all-MiniLM-L6-v2")
    open_playground(page, url, "embed")
    assert page.is_visible("#search") and page.is_hidden("#generate")
    texts = [line.strip() for line in page.input_value("#search-texts").splitlines() if line.strip()]
    query = page.input_value("#search-query")
    page.click("#search-run")
    page.wait_for_selector("#search-results li")
    shown = [item.inner_text() for item in page.query_selector_all("#search-results li")]
    emb = minilm.encode([query, *texts])
    scores = minilm.similarity(emb[:1], emb[1:])[0].tolist()
    ranked = sorted(zip(scores, texts), reverse=True)
    assert [s.split(" ", 1)[1] for s in shown] == [t for _, t in ranked]
    assert [float(s.split(" ", 1)[0]) for s in shown] == pytest.approx([round(s, 4) for s, _ in ranked], abs=2e-4)
    page.click("#sim-run")
    page.wait_for_selector("#sim-result:has-text('similarity')")
    screenshot(page, "search")


def test_fill_mask_lists_candidates(page, module_servers, models):
    url = module_servers.start("fill-mask", task_pipeline(models, "fill-mask"))
    open_playground(page, url, "fill-mask")
    page.fill("#mask-text", "the cat [MASK] on the mat")
    page.click("#mask-run")
    page.wait_for_selector("#mask-results li")
    want = task_pipeline(models, "fill-mask")("the cat [MASK] on the mat", top_k=5)
    assert [li.inner_text().split(" ", 1)[1] for li in page.query_selector_all("#mask-results li")] == [w["sequence"] for w in want]


def test_classify_rerank_and_the_api_key(page, module_servers, models):
    url = module_servers.start("classify", task_pipeline(models, "classify"))
    open_playground(page, url, "classify")
    page.fill("#classify-text", "what a good movie")
    page.click("#classify-run")
    page.wait_for_selector("#classify-results li")
    want = task_pipeline(models, "classify")("what a good movie", top_k=None)
    assert [li.inner_text().split(" ", 1)[1] for li in page.query_selector_all("#classify-results li")] == [
        w["label"] for w in want]

    url = module_servers.start("rerank", task_pipeline(models, "rerank"), api_key="s3cret")
    page.goto(url + "/")
    page.wait_for_selector("#key-box[open]")  # /info answered 401: the page asks for the key
    assert "needs an API key" in page.inner_text("#model")
    page.fill("#api-key", "s3cret")
    page.dispatch_event("#api-key", "change")
    page.wait_for_selector("body[data-ready='ok']")
    page.click("#rerank-run")
    page.wait_for_selector("#rerank-results li")
    query = page.input_value("#rerank-query")
    texts = [line.strip() for line in page.input_value("#rerank-texts").splitlines() if line.strip()]
    want = plain(task_pipeline(models, "rerank").rank(query, texts))
    assert [li.inner_text().split(" ", 1)[1] for li in page.query_selector_all("#rerank-results li")] == [
        texts[w["corpus_id"]] for w in want]
    page.evaluate("localStorage.clear()")
    screenshot(page, "rerank")


def test_a_stream_shows_tokens_as_they_arrive(page, module_servers, models, slow_steps):
    pipe = task_pipeline(models, "generate")
    url = module_servers.start("generate", pipe)
    slow_steps(pipe.model, 0.05)  # a token every 50 ms or more: the page must show them one by one
    open_playground(page, url, "generate")
    page.fill("#gen-prompt", "the cat")
    page.fill("#gen-max", "16")
    page.fill("#gen-temp", "1.0")
    page.evaluate("""() => {
        window.seen = [];
        new MutationObserver(() => window.seen.push(document.getElementById('gen-output').textContent))
            .observe(document.getElementById('gen-output'), {childList: true, characterData: true, subtree: true});
    }""")
    page.click("#gen-run")
    page.wait_for_selector("#gen-output[data-done='true']", timeout=30_000)
    log = page.evaluate("window.playground.streamLog")
    seen = page.evaluate("window.seen")
    final = page.inner_text("#gen-output")
    assert len(log) == 16  # one event per generated token
    assert log[-1]["at"] > log[0]["at"]  # over time, not in one piece
    growing = [s for s in seen if s]
    assert len(set(growing)) >= 3 and all(final.startswith(s) for s in growing)  # partial text, then more
    screenshot(page, "stream")


def test_the_api_page_renders_offline(page, module_servers, minilm):
    """/docs: Swagger UI from the server itself (fastapi-offline), listing the routes — no CDN asked."""
    url = module_servers.start("embed", minilm, name="all-MiniLM-L6-v2", api_key="k")  # open without the key
    page.requested.clear()
    page.goto(url + "/docs")
    page.wait_for_selector("#operations-embeddings-embed_route_embed_post")
    assert page.requested and all(u.startswith(url + "/") for u in page.requested), page.requested
    assert "/v1/embeddings" in page.inner_text(".swagger-ui")
    screenshot(page, "docs")
