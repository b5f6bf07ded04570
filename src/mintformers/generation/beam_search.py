"""Beam search (and beam sampling), vectorised over the batch with fixed-size tensors.

State per prompt b, K = num_beams:
- running: the K live hypotheses (B, K, max_length) and their summed log-probabilities;
- finished: the K best completed hypotheses, scored sum / generated_length ** length_penalty.

Each step scores every continuation of every live beam, keeps the best `(1 + #eos) · K` (at least 2K) so that K
of them can continue even if the others end in eos, moves the ones that hit a stopping criterion into the
finished set (only if they are among the top K, as in the reference), and continues with the K best that did not.

Stopping follows the reference (transformers ≥ 4.50) exactly, so the same logits give the same beams:
early_stopping=True stops a prompt once K hypotheses finished; False stops once no live beam can beat the worst
finished one at the current length (a heuristic); "never" assumes the best case length, max_length when
length_penalty > 0. Scores of -1e9 mark "not a candidate", added to real scores in float32 as the reference does.
"""

from __future__ import annotations

from typing import Any

import torch

from .configuration import GenerationConfig
from .logits_process import LogitsProcessorList
from .stopping_criteria import StoppingCriteriaList

__all__ = ["beam_search"]

NOT_A_CANDIDATE = -1.0e9


def _take(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Select along the beam axis: tensor (B, K, ...) by index (B, J) → (B, J, ...)."""
    while index.dim() < tensor.dim():
        index = index.unsqueeze(-1)
    return torch.take_along_dim(tensor, index, dim=1)


def beam_search(
    step: Any,
    input_ids: torch.LongTensor,
    config: GenerationConfig,
    processors: LogitsProcessorList,
    criteria: StoppingCriteriaList,
    max_length: int,
    generator: torch.Generator | None = None,
):
    from .utils import GenerateBeamDecoderOnlyOutput

    num_beams, early_stopping, length_penalty = config.num_beams, config.early_stopping, config.length_penalty
    rows, prompt_len = input_ids.shape
    batch = rows // num_beams
    device = input_ids.device
    eos = config.eos_token_id
    n_eos = 0 if eos is None else (1 if isinstance(eos, int) else len(eos))
    width = max(2, 1 + n_eos) * num_beams  # candidates kept per prompt and step
    first_k = torch.arange(width, device=device) < num_beams  # only these may enter the finished set
    fill = config.pad_token_id if config.pad_token_id is not None else (eos if isinstance(eos, int) else (eos or [0])[0])
    new_max = max_length - prompt_len

    running = torch.full((batch, num_beams, max_length), fill, dtype=torch.long, device=device)
    running[:, :, :prompt_len] = input_ids.view(batch, num_beams, prompt_len)
    running_scores = torch.zeros((batch, num_beams), device=device)
    running_scores[:, 1:] = NOT_A_CANDIDATE  # all beams start equal: let only the first one expand at step one
    running_origin = torch.full((batch, num_beams, new_max), -1, dtype=torch.long, device=device)  # row per token
    finished = running.clone()
    finished_scores = torch.full((batch, num_beams), NOT_A_CANDIDATE, device=device)
    finished_origin = running_origin.clone()
    is_finished = torch.zeros((batch, num_beams), dtype=torch.bool, device=device)
    improvable = torch.ones((batch, 1), dtype=torch.bool, device=device)  # a live beam may still beat a finished one
    row_offset = torch.arange(batch, device=device)[:, None] * num_beams  # (B, 1)

    record = config.return_dict_in_generate
    all_scores, all_logits, attentions, hidden_states = [], [], [], []
    length = prompt_len
    while True:
        flat = running.view(rows, max_length)
        out = step(flat, length)
        logits = out.logits[:, -1, :].float()  # (B·K, V)
        vocab = logits.shape[-1]
        log_probs = processors(flat[:, :length], logits.log_softmax(-1))
        if record:
            if config.output_logits:
                all_logits.append(logits)
            if config.output_scores:
                all_scores.append(log_probs)
            if config.output_attentions:
                attentions.append(out.attentions)
            if config.output_hidden_states:
                hidden_states.append(out.hidden_states)
        del out

        # every continuation of every beam, scored by its running total: (B, K·V)
        totals = (log_probs.view(batch, num_beams, vocab) + running_scores[:, :, None]).view(batch, num_beams * vocab)
        if config.do_sample:
            pick = torch.multinomial(totals.softmax(-1), width, generator=generator)
            top_scores = totals.gather(1, pick)
        else:
            top_scores, pick = torch.topk(totals, width)
        source = pick // vocab  # (B, width) beam each candidate extends
        cand = _take(running, source)
        cand[:, :, length] = pick % vocab
        cand_origin = _take(running_origin, source)
        cand_origin[:, :, length - prompt_len] = source + row_offset
        stops = criteria(cand[:, :, : length + 1].reshape(batch * width, length + 1), all_scores).view(batch, width)

        # the K best candidates that go on
        live_scores = top_scores + stops.to(torch.float32) * NOT_A_CANDIDATE
        keep = torch.topk(live_scores, num_beams)[1]
        next_running, next_scores, next_origin = _take(cand, keep), _take(live_scores, keep), _take(cand_origin, keep)

        # candidates that stopped, among the top K, join the finished set if they beat its members
        just_finished = stops & first_k[None, :]
        normed = top_scores / ((length + 1 - prompt_len) ** length_penalty)
        full = is_finished.all(-1, keepdim=True) & (early_stopping is True)
        normed = normed + full.to(torch.float32) * NOT_A_CANDIDATE
        normed = normed + (~improvable).to(torch.float32) * NOT_A_CANDIDATE
        normed = normed + (~just_finished) * NOT_A_CANDIDATE
        merged_scores = torch.cat((finished_scores, normed), dim=1)
        best = torch.topk(merged_scores, num_beams)[1]
        finished = _take(torch.cat((finished, cand), dim=1), best)
        finished_scores = _take(merged_scores, best)
        finished_origin = _take(torch.cat((finished_origin, cand_origin), dim=1), best)
        is_finished = _take(torch.cat((is_finished, just_finished), dim=1), best)

        running, running_scores, running_origin = next_running, next_scores, next_origin
        step.reorder(running_origin[:, :, length - prompt_len].reshape(-1))
        length += 1

        # can a live beam still beat the worst finished one?
        best_len = new_max if early_stopping == "never" and length_penalty > 0 else length - prompt_len
        best_possible = running_scores[:, :1] / (best_len**length_penalty)
        worst_finished = torch.where(is_finished, finished_scores.min(1, keepdim=True).values, NOT_A_CANDIDATE)
        improvable = improvable & (best_possible > worst_finished).any(-1, keepdim=True)
        all_done = is_finished.all() & (early_stopping is True)
        if not bool(improvable.any() & ~all_done & ~stops.all()):  # one host sync per step
            break

    n = config.num_return_sequences
    sequences = finished[:, :n].reshape(batch * n, max_length)
    origin = finished_origin[:, :n].reshape(batch * n, new_max)
    generated = int((origin >= 0).sum(1).max())
    sequences, origin = sequences[:, : prompt_len + generated], origin[:, :generated]

    def steps(items: list) -> tuple | None:
        return tuple(items) if items else None

    return GenerateBeamDecoderOnlyOutput(
        sequences=sequences,
        sequences_scores=finished_scores[:, :n].reshape(-1) if config.output_scores else None,
        scores=steps(all_scores),
        logits=steps(all_logits),
        beam_indices=origin,
        attentions=steps(attentions),
        hidden_states=steps(hidden_states),
        past_key_values=step.cache,
    )
