"""A permutation-equivariant actor-critic policy for the LLMRoute observations (:class:`SetPolicy` for
sb3-contrib's MaskablePPO, :class:`SetActorCriticPolicy` for SB3's PPO and A2C).

SB3's ``MultiInputPolicy`` flattens the observation into one vector, so it learns what *slot* i is
worth, not what a model with slot i's statistics is worth: list the same models in another order and
it collapses. These policies treat the model slots as a set:

1. **Tokens** (:class:`SetTokenizer`, no weights): slot i's token is its own per-model features
   (``available``, ``deployed``, ``picked``, ``capacity_left``, ``pulls``, ``mean_reward``,
   ``mean_cost``, ``throughput``, ``price``, ``release``, in the scaled observation), and in typed
   worlds its statistics on the current query's task (``task_*`` selected by the one-hot) and on
   every task (``log1p`` of the per-task pulls). A slot is *real* if any of its features but its costs
   is non-zero: a padded slot is all zero in the raw observation, and the scaling of version 2 reads
   its costs, 0, as -1 (``COST_KEYS``).
2. **Embedding** (:class:`SetNetwork`): every token gets its features minus their mean over the real
   slots and the global features (``phase``, ``stage``, ``time``, ``stage_progress``,
   ``budget_per_query``, the task one-hot), and one MLP with the same weights for every slot embeds it.
3. **Rounds** (``rounds``, DeepSets style): the mean and max of the embeddings over the real slots are
   concatenated to each embedding and a shared MLP updates it (residually).
4. **Heads**: a shared MLP scores each slot (its action logit); an MLP of the pooled summary and the
   globals gives the commit logit (action N) and, through a separate MLP, the value.
5. **Asymmetric critic** (``privileged_critic=True``, training only): the critic also sees each
   slot's true mean reward and cost (:data:`~agents.rl.privileged.PRIVILEGED_KEYS`, which
   :class:`~agents.rl.vec_wrappers.VecPrivilegedObservation` adds to training observations): a
   shared layer embeds each slot's ``[embedding, true means]`` and their mean and max over the real
   slots join the critic's input. The actor never reads them, so the policy acts on what a
   deployed agent sees; without the keys (any evaluation env) the actor is unchanged and the value
   is NaN.

So for any permutation of the model slots the action logits are permuted the same way, the commit
logit and the value are unchanged (up to float rounding), and no weight depends on the number of
slots N: a model trained on a 12-model catalog runs on a 34-model one (:func:`agents.rl.load_agent`
allows it for these policies). The weights do depend on the number of task types (the one-hot and
the per-task statistics are features).

The logits come from the network: ``action_net`` is the identity and ``mlp_extractor`` is the
:class:`SetNetwork` (``latent_dim_pi = N + 1`` is not stored in any weight). Keyword arguments
through ``policy_kwargs``: ``hidden`` (width, 64), ``rounds`` (1 or more, 2), ``privileged_critic``
(False), ``activation_fn`` (``nn.ReLU``).

This module imports torch and stable-baselines3 at its top; nothing imports it at package import.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn
from torch.nn import functional as F

from .privileged import PRIVILEGED_KEYS

__all__ = [
    "SetPolicy",
    "SetActorCriticPolicy",
    "SetTokenizer",
    "SetNetwork",
    "GLOBAL_KEYS",
    "PER_TASK_KEYS",
    "COST_KEYS",
]

# Keys of shape (1,) that every token sees (plus the task one-hot in typed worlds).
GLOBAL_KEYS = ("phase", "stage", "time", "stage_progress", "budget_per_query")
# The logit of a padded slot (never valid; for PPO and A2C, which do not mask, all but impossible).
PADDED_LOGIT = -1e4
# Per-(task, model) keys of shape (J * N,), slot j * N + m.
PER_TASK_KEYS = ("task_pulls", "task_mean_reward", "task_mean_cost")
# Cost features, which the observation scaling of version 2 maps to -1 at a cost of 0 (a padded slot's
# too): they take no part in telling a real slot from a padded one.
COST_KEYS = ("mean_cost", "task_mean_cost")


def _shape(space: spaces.Space) -> tuple[int, ...]:
    return tuple(space.shape or ())


class SetTokenizer(BaseFeaturesExtractor):
    """The observation as per-slot tokens and global features, flattened (no weights).

    The output is ``[tokens (N * slot_dim), globals (global_dim)]`` per row, where a token is the
    slot's per-model features (sorted key order), in typed worlds its current-task statistics and its
    statistics on every task, and last a 0/1 flag of a real slot (any feature but the costs of
    ``COST_KEYS`` non-zero: padded slots are zero but for those, -1 in the scaling of version 2). N is
    read from the observation at each call, so nothing here depends on it.

    With ``privileged=True`` the output is ``[tokens, privileged (N * P), globals]``, the
    :data:`~agents.rl.privileged.PRIVILEGED_KEYS` of every slot (P of them) for an asymmetric
    critic; NaN where the observation lacks them (evaluation envs), which only the critic reads.
    Those keys are never part of a token.

    Parameters
    ----------
    observation_space : gymnasium.spaces.Dict
        The (scaled) LLMRoute observation space.
    privileged : bool
        Output the privileged block.
    """

    def __init__(self, observation_space: spaces.Dict, privileged: bool = False):
        boxes = observation_space.spaces
        missing = [k for k in ("available", *GLOBAL_KEYS) if k not in boxes]
        if missing:
            raise ValueError(f"SetTokenizer needs an LLMRoute observation; missing keys {missing}")
        n = _shape(boxes["available"])[0]
        self.global_keys = GLOBAL_KEYS
        self.n_tasks = _shape(boxes["task"])[0] if "task" in boxes else 0
        self.task_keys = tuple(k for k in PER_TASK_KEYS if k in boxes) if self.n_tasks else ()
        self.model_keys = tuple(
            sorted(
                k
                for k, b in boxes.items()
                if k not in (*GLOBAL_KEYS, "task", *PER_TASK_KEYS, *PRIVILEGED_KEYS) and _shape(b) == (n,)
            )
        )
        self.model_dim = len(self.model_keys) + len(self.task_keys) * (1 + self.n_tasks)
        # Which token features tell a real slot (in the order tokens() stacks them): all but the costs.
        presence = [k not in COST_KEYS for k in self.model_keys]
        for k in self.task_keys:
            presence += [k not in COST_KEYS] * (1 + self.n_tasks)
        self._presence = th.tensor(presence)  # not a buffer: saved models keep their state_dict keys
        self.slot_dim = self.model_dim + 1
        self.global_dim = len(GLOBAL_KEYS) + self.n_tasks
        self.privileged_dim = len(PRIVILEGED_KEYS) if privileged else 0
        super().__init__(observation_space, features_dim=n * (self.slot_dim + self.privileged_dim) + self.global_dim)

    def tokens(self, obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        """The tokens and globals of a batch of observations.

        Parameters
        ----------
        obs : dict of str to Tensor
            A batch of observations, each key of shape (B, ...).

        Returns
        -------
        (Tensor, Tensor)
            Tokens of shape (B, N, slot_dim) (real-slot flag last) and globals of shape
            (B, global_dim).
        """
        per_model = [obs[k].float() for k in self.model_keys]
        batch, n = per_model[0].shape
        if self.task_keys:
            task = obs["task"].float()
            for k in self.task_keys:
                stats = obs[k].float().reshape(batch, self.n_tasks, n)
                if k == "task_pulls":
                    stats = th.log1p(stats.clamp(min=0.0)) / 8.0
                per_model.append(th.einsum("bj,bjn->bn", task, stats))
                per_model.extend(stats.unbind(dim=1))
        feats = th.stack(per_model, dim=-1)
        real = ((feats != 0) & self._presence.to(feats.device)).any(dim=-1, keepdim=True).float()
        glob = [obs[k].float().reshape(batch, -1) for k in self.global_keys]
        if self.n_tasks:
            glob.append(obs["task"].float())
        return th.cat([feats, real], dim=-1), th.cat(glob, dim=-1)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """Flatten :meth:`tokens`.

        Parameters
        ----------
        observations : dict of str to Tensor
            A batch of observations.

        Returns
        -------
        Tensor
            Shape (B, N * (slot_dim + privileged_dim) + global_dim).
        """
        tokens, glob = self.tokens(observations)
        if not self.privileged_dim:
            return th.cat([tokens.flatten(1), glob], dim=-1)
        if all(k in observations for k in PRIVILEGED_KEYS):
            privileged = th.stack([observations[k].float() for k in PRIVILEGED_KEYS], dim=-1).flatten(1)
        else:  # an evaluation env: only the critic reads these, and it has no value here
            privileged = tokens.new_full((tokens.shape[0], tokens.shape[1] * self.privileged_dim), float("nan"))
        return th.cat([tokens.flatten(1), privileged, glob], dim=-1)


def _mlp(sizes: list[int], activation: type[nn.Module], last_activation: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if last_activation or i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _row_max(h: th.Tensor, rows: th.Tensor, batch: int) -> th.Tensor:
    """Max over each row's packed slots (-inf for a row without any)."""
    width = h.shape[1]
    return h.new_full((batch, width), float("-inf")).scatter_reduce_(
        0, rows.unsqueeze(1).expand(-1, width), h, reduce="amax"
    )


class _RowMax(th.autograd.Function):
    """Max over each row's packed slots, ``scatter_reduce(..., "amax")`` with its gradient (shared
    evenly among the slots that attain the max, as PyTorch's) computed in a few array operations:
    PyTorch's own backward of ``scatter_reduce`` takes several times longer than the whole forward."""

    @staticmethod
    def forward(ctx, h: th.Tensor, rows: th.Tensor, batch: int) -> th.Tensor:
        peak = _row_max(h, rows, batch)
        ctx.save_for_backward(h, rows, peak)
        return peak

    @staticmethod
    def backward(ctx, grad: th.Tensor):
        h, rows, peak = ctx.saved_tensors
        at = (h == peak.index_select(0, rows)).to(h.dtype)
        ties = th.zeros_like(peak).index_add_(0, rows, at)
        return at * (grad / ties.clamp(min=1.0)).index_select(0, rows), None, None


def _pool(h: th.Tensor, rows: th.Tensor, count: th.Tensor) -> th.Tensor:
    """Mean and max over each row's real slots of the packed embeddings h (R, H) of rows ``rows``
    (R,), for ``count`` (B, 1) real slots per row; zeros for a row without any."""
    batch, width = count.shape[0], h.shape[1]
    total = h.new_zeros(batch, width).index_add_(0, rows, h)
    mean = total / count.clamp(min=1.0)
    # Without gradients (rollouts), the function itself: a Function's call costs more than the max.
    peak = _RowMax.apply(h, rows, batch) if h.requires_grad else _row_max(h, rows, batch)
    peak = th.where(count > 0, peak, th.zeros_like(peak))
    return th.cat([mean, peak], dim=-1)


def _concat_linear(layer: nn.Linear, x: th.Tensor, y: th.Tensor, rows: th.Tensor) -> th.Tensor:
    """``layer(cat([x, y[rows]], -1))`` for packed slots x (R, k) of rows ``rows`` and per-row y
    (B, m), without the concatenation: ``x W_x + (y W_y + b)[rows]``, y's product once per row."""
    k = x.shape[1]
    return F.linear(x, layer.weight[:, :k]) + F.linear(y, layer.weight[:, k:], layer.bias).index_select(0, rows)


class SetNetwork(nn.Module):
    """The equivariant actor and invariant critic on :class:`SetTokenizer`'s features (the policy's
    ``mlp_extractor``).

    ``forward_actor`` returns the action logits (B, N + 1): the slots' scores, then the commit logit;
    ``forward_critic`` returns a (B, hidden) latent of the pooled summary and the globals (and, with
    ``privileged_dim``, the pooled embeddings of each slot's privileged features), which the policy's
    ``value_net`` maps to the value. No weight depends on N.

    Parameters
    ----------
    slot_dim : int
        Features per slot, the real-slot flag last.
    global_dim : int
        Global features.
    hidden : int
        Width of every layer.
    rounds : int
        Rounds of pooling and update (at least 1).
    activation_fn : type of nn.Module
        The activation.
    privileged_dim : int
        Privileged features per slot that the critic reads (0: none; :class:`SetTokenizer`'s).
    """

    _embed_rest: tuple[nn.Module, ...]

    def __init__(
        self,
        slot_dim: int,
        global_dim: int,
        hidden: int = 64,
        rounds: int = 2,
        activation_fn=nn.ReLU,
        privileged_dim: int = 0,
    ):
        super().__init__()
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"SetPolicy hidden must be an integer >= 1, got {hidden!r}")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"SetPolicy rounds must be an integer >= 1, got {rounds!r}")
        self.slot_dim, self.global_dim, self.hidden = slot_dim, global_dim, hidden
        model_dim = slot_dim - 1
        self.embed = _mlp([2 * model_dim + 1 + global_dim, hidden, hidden], activation_fn)
        # The embedding's layers after its first and its activation (which _encode applies split), as a
        # plain tuple: slicing the Sequential would build a new module at every call.
        object.__setattr__(self, "_embed_rest", tuple(self.embed)[2:])
        self.updates = nn.ModuleList([_mlp([3 * hidden, hidden], activation_fn) for _ in range(rounds)])
        self.slot_head = nn.Sequential(_mlp([3 * hidden, hidden], activation_fn), nn.Linear(hidden, 1))
        self.commit_head = nn.Sequential(_mlp([2 * hidden + global_dim, hidden], activation_fn), nn.Linear(hidden, 1))
        self.privileged_dim = privileged_dim
        if privileged_dim:
            self.privileged = _mlp([hidden + privileged_dim, hidden], activation_fn)
        self.critic = _mlp([(4 if privileged_dim else 2) * hidden + global_dim, hidden, hidden], activation_fn)
        self.latent_dim_pi = 0  # the logits' width is N + 1, known only from the observation
        self.latent_dim_vf = hidden

    def critic_input_from_symmetric(self, weight: th.Tensor) -> th.Tensor:
        """The weight of this (privileged) critic's first layer that computes what ``weight``, the
        first critic layer of a network without ``privileged_dim``, computes: its inputs ``[pooled
        (2 hidden), globals]`` at their columns of ``[pooled, privileged pooled (2 hidden), globals]``,
        and zero weight on the privileged ones.

        Parameters
        ----------
        weight : Tensor
            Shape (hidden, 2 hidden + global_dim).

        Returns
        -------
        Tensor
            Shape (hidden, 4 hidden + global_dim).
        """
        h = self.hidden
        grown = weight.new_zeros((h, 4 * h + self.global_dim))
        grown[:, : 2 * h] = weight[:, : 2 * h]
        grown[:, 4 * h :] = weight[:, 2 * h :]
        return grown

    def output_layers(self) -> list[nn.Module]:
        """The layers that output logits (initialised with a small gain, like SB3's ``action_net``).

        Returns
        -------
        list of nn.Module
            The last linear layers of the slot and commit heads.
        """
        return [self.slot_head[-1], self.commit_head[-1]]

    def _encode(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor, tuple[th.Tensor, ...]]:
        """Embed the real slots only, packed: a padded slot (real-slot flag 0) is never valid and
        takes no part in the pooling, so it costs nothing (generated worlds fill ~12 of 40 slots).
        Returns the packed embeddings (R, hidden), the pooled summary (B, 2 hidden), the globals and
        the packing ``(rows, slots, n_slots, count, privileged)`` (the real slots' privileged
        features (R, privileged_dim); without any, a placeholder the critic does not read).

        A layer whose input is a slot's own vector concatenated with its row's (the embedding's
        ``[feats, feats - mean, 1, globals]``, the updates' and the slot head's ``[h, pooled]``) is
        computed as the slot's product plus its row's, ``x W_x + (y W_y + b)[rows]``: the same layer
        (the same weights) up to float rounding, with the row's part computed once per row instead of
        once per slot (2.4 times fewer operations for the whole network)."""
        batch = features.shape[0]
        body = features.shape[1] - self.global_dim
        glob = features[:, body:]
        n = body // (self.slot_dim + self.privileged_dim)
        tokens = features[:, : n * self.slot_dim].reshape(batch, n, self.slot_dim)
        rows, slots = (tokens[..., -1] > 0).nonzero(as_tuple=True)
        feats = tokens[rows, slots, :-1]
        count = th.bincount(rows, minlength=batch).unsqueeze(1).to(feats.dtype)
        mean = feats.new_zeros(batch, feats.shape[1]).index_add_(0, rows, feats) / count.clamp(min=1.0)
        # The embedding's first layer on [feats, feats - mean[rows], 1, glob[rows]].
        first, d = cast(nn.Linear, self.embed[0]), feats.shape[1]
        w = first.weight
        own = F.linear(feats, w[:, :d] + w[:, d : 2 * d])
        per_row = F.linear(glob, w[:, 2 * d + 1 :], first.bias + w[:, 2 * d]) - F.linear(mean, w[:, d : 2 * d])
        h = self.embed[1](own + per_row.index_select(0, rows))
        for layer in self._embed_rest:
            h = layer(h)
        for update in self.updates:
            layer, activation = cast(nn.Sequential, update)
            pooled = _pool(h, rows, count)
            h = h + activation(_concat_linear(cast(nn.Linear, layer), h, pooled, rows))
        privileged = (
            features[:, n * self.slot_dim : body].reshape(batch, n, self.privileged_dim)[rows, slots]
            if self.privileged_dim
            else count
        )
        return h, _pool(h, rows, count), glob, (rows, slots, th.tensor(n), count, privileged)

    def _actor(self, h: th.Tensor, pooled: th.Tensor, glob: th.Tensor, packing: tuple[th.Tensor, ...]) -> th.Tensor:
        rows, slots, n_slots = packing[:3]
        layer, activation = cast(nn.Sequential, self.slot_head[0])
        packed = self.slot_head[1](activation(_concat_linear(cast(nn.Linear, layer), h, pooled, rows))).squeeze(-1)
        # Padded slots are never valid: a logit of PADDED_LOGIT (MaskablePPO masks them anyway).
        scores = pooled.new_full((pooled.shape[0], int(n_slots)), PADDED_LOGIT).index_put((rows, slots), packed)
        commit = self.commit_head(th.cat([pooled, glob], dim=-1))
        return th.cat([scores, commit], dim=-1)

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """Logits and the critic's latent.

        Parameters
        ----------
        features : Tensor
            :class:`SetTokenizer`'s output, (B, N * slot_dim + global_dim).

        Returns
        -------
        (Tensor, Tensor)
            Logits (B, N + 1) and the critic's latent (B, hidden).
        """
        encoded = self._encode(features)
        return self._actor(*encoded), self._critic(*encoded)

    def _critic(self, h: th.Tensor, pooled: th.Tensor, glob: th.Tensor, packing: tuple[th.Tensor, ...]) -> th.Tensor:
        if not self.privileged_dim:
            return self.critic(th.cat([pooled, glob], dim=-1))
        rows, _, _, count, privileged = packing
        seen = self.privileged(th.cat([h, privileged], dim=-1))
        return self.critic(th.cat([pooled, _pool(seen, rows, count), glob], dim=-1))

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        """The action logits.

        Parameters
        ----------
        features : Tensor
            :class:`SetTokenizer`'s output.

        Returns
        -------
        Tensor
            Logits (B, N + 1).
        """
        return self._actor(*self._encode(features))

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        """The critic's latent.

        Parameters
        ----------
        features : Tensor
            :class:`SetTokenizer`'s output.

        Returns
        -------
        Tensor
            Latent (B, hidden).
        """
        return self._critic(*self._encode(features))


class _SetPolicyMixin:
    """What :class:`SetPolicy` and :class:`SetActorCriticPolicy` share: the network, the build with an
    identity ``action_net``, and the constructor parameters saved with the model."""

    hidden: int
    rounds: int
    privileged_critic: bool
    mlp_extractor: Any
    action_net: Any

    def _setup_set(self, observation_space: spaces.Space, action_space: spaces.Space, kwargs: dict[str, Any]) -> None:
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"SetPolicy needs a Dict observation space (LLMRoute's), got {observation_space}")
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"SetPolicy needs a Discrete action space, got {action_space}")
        if kwargs.get("net_arch") is not None:
            raise ValueError("SetPolicy takes hidden= and rounds=, not net_arch")
        if not isinstance(self.privileged_critic, bool):
            raise ValueError(f"SetPolicy privileged_critic must be True or False, got {self.privileged_critic!r}")
        kwargs.setdefault("features_extractor_class", SetTokenizer)
        extractor_kwargs = dict(kwargs.get("features_extractor_kwargs") or {})
        extractor_kwargs["privileged"] = self.privileged_critic
        kwargs["features_extractor_kwargs"] = extractor_kwargs
        kwargs.setdefault("activation_fn", nn.ReLU)

    def _build_mlp_extractor(self) -> None:
        fe = self.features_extractor  # type: ignore[attr-defined]
        self.mlp_extractor = SetNetwork(
            fe.slot_dim,
            fe.global_dim,
            self.hidden,
            self.rounds,
            self.activation_fn,  # type: ignore[attr-defined]
            fe.privileged_dim,
        )

    def _build(self, lr_schedule) -> None:
        self._build_mlp_extractor()
        self.action_net = nn.Identity()
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        if self.ortho_init:  # type: ignore[attr-defined]
            init = self.init_weights  # type: ignore[attr-defined]
            self.mlp_extractor.apply(partial(init, gain=np.sqrt(2)))
            for layer in self.mlp_extractor.output_layers():
                layer.apply(partial(init, gain=0.01))
            self.value_net.apply(partial(init, gain=1))
        self.optimizer = self.optimizer_class(  # type: ignore[attr-defined]
            self.parameters(),  # type: ignore[attr-defined]
            lr=lr_schedule(1),
            **self.optimizer_kwargs,  # type: ignore[attr-defined]
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(hidden=self.hidden, rounds=self.rounds, privileged_critic=self.privileged_critic)
        data.pop("net_arch", None)
        return data


class SetPolicy(_SetPolicyMixin, MaskableActorCriticPolicy):
    """Permutation-equivariant actor-critic for sb3-contrib's MaskablePPO: ``MaskablePPO(SetPolicy, env)``.

    The action logits are equivariant and the value invariant under permutations of the model slots,
    and no weight depends on the number of slots (see the module docstring).

    Parameters
    ----------
    observation_space : gymnasium.spaces.Dict
        The (scaled) LLMRoute observation space.
    action_space : gymnasium.spaces.Discrete
        ``Discrete(N + 1)``.
    lr_schedule : callable
        Learning-rate schedule.
    hidden : int
        Width of every layer (64).
    rounds : int
        Rounds of pooling and update (2).
    privileged_critic : bool
        An asymmetric critic that also reads the training env's true means (see the module
        docstring); the env must have :data:`~agents.rl.privileged.PRIVILEGED_KEYS`.
    **kwargs
        MaskableActorCriticPolicy's other arguments (``activation_fn``, ``ortho_init``, optimizer);
        ``net_arch`` is refused.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule,
        hidden: int = 64,
        rounds: int = 2,
        privileged_critic: bool = False,
        **kwargs: Any,
    ):
        self.hidden, self.rounds, self.privileged_critic = hidden, rounds, privileged_critic
        self._setup_set(observation_space, action_space, kwargs)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def forward(
        self, obs: Any, deterministic: bool = False, action_masks: np.ndarray | None = None
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Actions, values and log-probabilities of a batch (what MaskablePPO calls at every rollout
        step): ``MaskableActorCriticPolicy.forward`` with its masked categorical computed in place, the
        same numbers and the same random draw as its ``MaskableCategorical`` (logits normalised, masked
        ones set to -1e8, normalised again, one ``multinomial`` draw from their softmax) without
        building the distribution twice a step, a fifth of the rollout's time at 4 envs."""
        if not self.share_features_extractor:
            return super().forward(obs, deterministic, action_masks)
        latent_pi, latent_vf = self.mlp_extractor(self.extract_features(obs))
        values = self.value_net(latent_vf)
        logits = self.action_net(latent_pi).view(latent_pi.shape[0], -1)
        logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        if action_masks is not None:
            masks = th.as_tensor(action_masks, dtype=th.bool, device=logits.device).reshape(logits.shape)
            logits = th.where(masks, logits, th.tensor(-1e8, dtype=logits.dtype, device=logits.device))
        logits = logits - logits.logsumexp(dim=-1, keepdim=True)  # normalised twice, masked or not, as there
        probs = F.softmax(logits, dim=-1)
        actions = th.argmax(probs, dim=1) if deterministic else th.multinomial(probs, 1, True).reshape(-1)
        log_prob = logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        return actions.reshape((-1, *self.action_space.shape)), values, log_prob  # type: ignore[misc]


class SetActorCriticPolicy(_SetPolicyMixin, ActorCriticPolicy):
    """:class:`SetPolicy` for SB3's PPO and A2C (no masks): ``PPO(SetActorCriticPolicy, env)``.

    Parameters
    ----------
    observation_space : gymnasium.spaces.Dict
        The (scaled) LLMRoute observation space.
    action_space : gymnasium.spaces.Discrete
        ``Discrete(N + 1)``.
    lr_schedule : callable
        Learning-rate schedule.
    hidden : int
        Width of every layer (64).
    rounds : int
        Rounds of pooling and update (2).
    privileged_critic : bool
        An asymmetric critic that also reads the training env's true means (see the module
        docstring); the env must have :data:`~agents.rl.privileged.PRIVILEGED_KEYS`.
    **kwargs
        ActorCriticPolicy's other arguments; ``net_arch`` is refused.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule,
        hidden: int = 64,
        rounds: int = 2,
        privileged_critic: bool = False,
        **kwargs: Any,
    ):
        self.hidden, self.rounds, self.privileged_critic = hidden, rounds, privileged_critic
        self._setup_set(observation_space, action_space, kwargs)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
