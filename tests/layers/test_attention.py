"""layers/attention.py's packing: rows of different lengths laid end to end run as one sequence and give, at every
real token, what the padded batch gives (fp32, 1e-5), for every BERT position scheme, attention implementation and
int8; families that do not support it run padded whatever they are asked."""

from __future__ import annotations

import pytest
import torch

from mintformers import BertConfig, BertModel
from mintformers.auto import AutoConfig, AutoModel
from mintformers.embeddings import Pooling, SentenceEncoder
from mintformers.embeddings.batching import pad_rows
from mintformers.layers.attention import Packing, packed
from mintformers.quantization import quantize_model

from parity import perturb_

ATOL = 1e-5
LENGTHS = [9, 3, 14, 1, 7, 14]


def tiny_bert(**overrides) -> BertModel:
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                        max_position_embeddings=64, **overrides)
    torch.manual_seed(0)
    return perturb_(BertModel(config), seed=0).eval()


def rows(lengths=LENGTHS) -> list[list[int]]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randint(1, 99, (n,), generator=generator).tolist() for n in lengths]


def padded_and_packed(model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The last hidden states of the padded batch and of the same rows packed (both (rows, width, H)), and the mask."""
    ids, mask = pad_rows(rows(), 0, torch.device("cpu"))
    packing = Packing(LENGTHS)
    assert torch.equal(packing.mask, mask)
    with torch.inference_mode():
        padded = model(input_ids=ids, attention_mask=mask)[0]
        with packed(packing):
            flat = model(input_ids=ids[mask.bool()][None], position_ids=packing.position_ids)[0]  # (1, T, H)
    assert flat.shape == (1, sum(LENGTHS), padded.shape[-1])
    return padded, packing.pad(flat), mask


@pytest.mark.parametrize("position", ["absolute", "relative_key", "relative_key_query"])
@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_packed_rows_equal_the_padded_batch(position, impl):
    padded, from_packed, mask = padded_and_packed(tiny_bert(position_embedding_type=position, attn_implementation=impl))
    keep = mask.bool()
    assert (padded[keep] - from_packed[keep]).abs().max() <= ATOL
    assert not from_packed[~keep].any()  # padding stays zero


def test_packing_an_int8_model():
    model = quantize_model(tiny_bert(), "int8-dynamic")
    padded, from_packed, mask = padded_and_packed(model)
    keep = mask.bool()
    assert (padded[keep] - from_packed[keep]).abs().max() <= ATOL


def test_packing_layout():
    packing = Packing([2, 3, 1])
    assert packing.position_ids.tolist() == [[0, 1, 0, 1, 2, 0]]
    assert packing.index.tolist() == [0, 1, 3, 4, 5, 6]  # places in the (3 rows × 3) grid
    x = torch.arange(6.0).view(1, 6, 1)
    assert packing.pad(x)[..., 0].tolist() == [[0, 1, 0], [2, 3, 4], [5, 0, 0]]
    assert torch.equal(packing.unpad(packing.pad(x)), x)


def test_sentence_encoder_packs_when_asked_and_supported(models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    attention = encoder.model.encoder.layer[0].attention.self
    ids, mask = pad_rows(rows(), 0, torch.device("cpu"))
    ids = ids % encoder.model.config.vocab_size
    shapes = []
    attention.register_forward_hook(lambda module, args, out: shapes.append(tuple(out[0].shape)))
    with torch.inference_mode():
        plain = encoder.forward({"input_ids": ids, "attention_mask": mask})
        fast = encoder.forward({"input_ids": ids, "attention_mask": mask, "packed": True})
    width = encoder.model.config.hidden_size
    assert shapes == [(6, 14, width), (1, sum(LENGTHS), width)]  # padded, then end to end
    assert (plain["sentence_embedding"] - fast["sentence_embedding"]).abs().max() <= ATOL
    keep = mask.bool()
    assert (plain["token_embeddings"][keep] - fast["token_embeddings"][keep]).abs().max() <= ATOL


@pytest.mark.parametrize("family", ["mpnet", "mobilebert", "ernie_m"])
def test_families_without_packing_run_padded(models, family):
    from mintformers import BertTokenizerFast

    sizes = {"mobilebert": dict(embedding_size=16, intra_bottleneck_size=16, num_feedforward_networks=2)}.get(family, {})
    config = AutoConfig.for_model(family, vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=37, max_position_embeddings=64, **sizes)
    torch.manual_seed(0)
    model = perturb_(AutoModel.from_config(config), seed=0).eval()
    assert not model.supports_packing
    encoder = SentenceEncoder(model, BertTokenizerFast.from_pretrained(models["base"]), [Pooling(32, "mean")])
    ids, mask = pad_rows(rows(), 0, torch.device("cpu"))
    with torch.inference_mode():
        plain = encoder.forward({"input_ids": ids, "attention_mask": mask})["token_embeddings"]
        asked = encoder.forward({"input_ids": ids, "attention_mask": mask, "packed": True})["token_embeddings"]
    assert torch.equal(plain, asked)
