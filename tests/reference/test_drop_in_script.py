"""A script written for sentence-transformers runs on mintformers with only its import changed.

The script below uses the common API as its documentation shows it (encode / encode_query, similarity,
util.semantic_search, paraphrase_mining, community_detection, quantize_embeddings, CrossEncoder.rank / predict). It
runs twice, once per import line, on the real all-MiniLM-L6-v2 and on a reranker made of its weights under a seeded
one-label head; the two printouts must be the same text, numbers within 1e-4.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import runpy

import pytest
import torch

pytest.importorskip("sentence_transformers")

SCRIPT = '''
{import_line}

corpus = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "A cheetah is running behind its prey.",
    "Someone in a gorilla costume is playing a set of drums.",
]
queries = ["A man is eating pasta.", "A cheetah chases prey across a field.", "Who plays music?"]

model = SentenceTransformer({model!r}, device="cpu")
print("dimension", model.get_sentence_embedding_dimension(), "max_seq_length", model.max_seq_length)
corpus_embeddings = model.encode(corpus, batch_size=4, convert_to_tensor=True, normalize_embeddings=True)
query_embeddings = model.encode_query(queries, convert_to_tensor=True)
print("shapes", tuple(corpus_embeddings.shape), tuple(query_embeddings.shape), model.similarity_fn_name)
print(model.similarity(query_embeddings[:1], corpus_embeddings[:3]))

for query, hits in zip(queries, util.semantic_search(query_embeddings, corpus_embeddings, top_k=3)):
    print("Query:", query)
    for hit in hits:
        print(f"  {{hit['score']:.4f}}  {{corpus[hit['corpus_id']]}}")

print(util.cos_sim(corpus_embeddings[0], corpus_embeddings[1]))
for score, i, j in util.paraphrase_mining(model, corpus, top_k=2)[:5]:
    print(f"{{score:.4f}}  {{corpus[i]}} | {{corpus[j]}}")
print("clusters", util.community_detection(corpus_embeddings, threshold=0.6, min_community_size=2))

embeddings = model.encode(corpus[:2])
print(type(embeddings).__name__, embeddings.dtype, embeddings.shape, model.encode(corpus[0]).shape)
binary = util.quantize_embeddings(model.encode(corpus), precision="ubinary")
print("ubinary", binary.shape, binary.dtype)
print("truncated", model.encode(corpus[:2], truncate_dim=64).shape)

reranker = CrossEncoder({reranker!r}, max_length=128, device="cpu")
for query in queries:
    print("Rerank:", query)
    for hit in reranker.rank(query, corpus, top_k=3, return_documents=True):
        print(f"  {{hit['corpus_id']}}  {{hit['score']:.4f}}  {{hit['text']}}")
scores = reranker.predict([(queries[0], document) for document in corpus[:3]])
print("predict", type(scores).__name__, scores.shape, scores.dtype, scores)
'''

IMPORTS = {
    "sentence-transformers": "from sentence_transformers import CrossEncoder, SentenceTransformer, util",
    "mintformers": "from mintformers import CrossEncoder, SentenceTransformer, util",
}
NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory, minilm_dir):
    """all-MiniLM-L6-v2's weights under a seeded one-label head: the shape of the ms-marco MiniLM rerankers."""
    from mintformers import AutoTokenizer, BertForSequenceClassification

    logging.getLogger("mintformers").setLevel(logging.ERROR)  # the new head's "newly initialised" note
    model = BertForSequenceClassification.from_pretrained(minilm_dir, num_labels=1)
    logging.getLogger("mintformers").setLevel(logging.NOTSET)
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 0.3)
        model.classifier.bias.zero_()
    folder = tmp_path_factory.mktemp("drop-in") / "reranker"
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(folder)
    return folder


def run_script(tmp_path, library: str, **paths) -> str:
    path = tmp_path / f"script_{library.replace('-', '_')}.py"
    path.write_text(SCRIPT.format(import_line=IMPORTS[library], **paths), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(path), run_name="__main__")
    return out.getvalue()


def test_a_sentence_transformers_script_runs_with_only_the_import_changed(tmp_path, minilm_dir, reranker_dir):
    paths = {"model": str(minilm_dir), "reranker": str(reranker_dir)}
    theirs = run_script(tmp_path, "sentence-transformers", **paths)
    ours = run_script(tmp_path, "mintformers", **paths)
    assert len(ours.splitlines()) == len(theirs.splitlines()) > 30
    def skeleton(text: str) -> str:  # numbers as #, runs of spaces as one (numpy pads arrays to their widest digits)
        return re.sub(r"[ ]+", " ", NUMBER.sub("#", text))

    assert skeleton(ours) == skeleton(theirs), f"--- mintformers:\n{ours}\n--- sentence-transformers:\n{theirs}"
    for a, b in zip(NUMBER.findall(ours), NUMBER.findall(theirs)):
        assert float(a) == pytest.approx(float(b), abs=1e-4), (a, b)
    assert "clusters [[" in ours  # the corpus does have clusters at 0.6: the comparison is not of empty lists
