"""Every command and snippet of the README and docs/*.md runs, so a broken example fails the build.

Each document is run top to bottom in a fresh folder (with ``configs/``, ``benchmarks/`` and
``.venv`` linked in, ``neurorep`` and ``python`` from the test's environment first on PATH, the
model registry and HOME inside the folder, HOME holding a ``Documents`` folder of the user's own),
as a new user would type it. Shell commands must exit 0; ``console`` blocks must exit 2 and print
the line the docs show (with the session's HOME written as ``/home/me``, as the docs write it).

Shrinking rule: a documented command that takes long runs with the replacement listed for it in
:data:`SHRINK` (same command, smaller: one seed, one epoch, a tiny corpus, a quick preset);
a Python snippet gets the text replacements of :data:`PY_SHRINK`; placeholders (``RUN``) are
filled from :data:`PLACEHOLDERS`. A command that cannot run here (real data that is not
shipped, a GPU cluster, the internet, the test suite itself) is listed in :data:`NOT_RUN` with the
reason, and is still checked: its ``neurorep`` command line must parse, a ``run CONFIG`` must
validate its config with its overrides (``--help-keys``), and a ``pytest`` or script path must
exist. Python fragments that use names from the surrounding text are in :data:`FRAGMENTS` and
must compile and import. Every key of these tables must still be in the docs (no stale entries).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.docs.doc_blocks import DOC_FILES, ROOT, Item, items

TINY_SLEEP_RUN = ("data.simulate.subjects=4 data.simulate.hours=1.5 pretrain.epochs=1 pretrain.max_windows=128 "
                  "probe.max_train=300")
TINY_SLEEP_GRID = ("--seeds 1 --set encoders=[cnn] --set paradigms=[crl] --set 'encoder_kwargs={cnn: {n_filters: 8}}' "
                   "--set pretrain.epochs=1 --set pretrain.max_windows=128 --set finetune.epochs=1 "
                   "--set finetune.max_windows=128 --set probe.max_train=300")
TINY_KD = ("data.simulate.subjects=5 data.simulate.hours=1 train.epochs=1 teacher_train.epochs=1 "
           "'data.eeg.encoder.kwargs={filters: [4, 8], pools: [10, 6], embed_dim: 8}' "
           "'data.ecg.encoder.kwargs={filters: [4, 8], pools: [4, 3], embed_dim: 8}'")
TINY_KD_GRID = ("--seeds 1 --set 'schemes=[3class]' --set base.data.simulate.subjects=5 --set base.data.simulate.hours=1 "
                "--set base.train.epochs=1 --set base.teacher_train.epochs=1")
TINY_EEG_IMAGE = ("data.simulate.subjects=4 data.simulate.n_train_concepts=40 data.simulate.n_test_concepts=20 "
                  "train.epochs=1 'eval.ways=[2,4]' 'eval.repetitions=[1,5]'")
TINY_MEG = "data.simulate.subjects=5 data.simulate.seconds=3 pretrain.epochs=1 finetune.epochs=1"
TINY_EEG_IMAGE_GRID = ("--set 'subjects=[1,2]' --set target_subject=2 --set 'ratios=[1.0]' "
                       "--set base.data.simulate.subjects=2 --set base.data.simulate.n_train_concepts=40 "
                       "--set base.data.simulate.n_test_concepts=20 --set base.train.epochs=1 "
                       "--set 'base.eval.ways=[2,4]' --set 'base.eval.repetitions=[1,5]' --set base.eval.n_draws=2")
TINY_MEG_GRID = ("--seeds 1 --set \"rows=['000','111']\" --set base.data.simulate.subjects=5 "
                 "--set base.data.simulate.seconds=3 --set base.pretrain.epochs=1 --set base.finetune.epochs=1")
TINY_FOUNDATION = ("data.simulate.subjects=8 data.simulate.duration_s=60 pretrain.epochs=1 pretrain.crops_per_epoch=32 "
                   "finetune.epochs=1")
TINY_KD_SIM = "--subjects 5 --set hours=1"
TINY_SSL_GRID = ("--set folds=2 --set 'paradigms=[crl]' --set 'encoder_kwargs={cnn: {n_filters: 8, embed_dim: 16, "
                 "n_convs: 1}}' --set pretrain.epochs=1 --set pretrain.max_windows=128 --set finetune.epochs=1 "
                 "--set finetune.max_windows=128 --set probe.max_train=300 --set latent.enabled=false")
TINY_FOUNDATION_GRID = ("--seeds 1 --set base.data.simulate.subjects=8 --set base.data.simulate.duration_s=60 "
                        "--set base.pretrain.epochs=1 --set base.pretrain.crops_per_epoch=32 --set base.finetune.epochs=1")

#: documented command -> the command run instead (the same command, smaller).
SHRINK: dict[str, str] = {
    "neurorep benchmark ssl --data runs/ssvep-cache --out runs/ssvep-exo --preset ssvep-exo --jobs 2 "
    "--set 'pretrain.extra_caches=[runs/ssvep-fixed]'":
        "neurorep benchmark ssl --data runs/ssvep-cache --out runs/ssvep-exo --preset ssvep-exo --jobs 2 "
        "--set 'pretrain.extra_caches=[runs/ssvep-fixed]' --seeds 1 --set folds=2 --set 'classic=[fbcca]' "
        "--set pretrain.epochs=1 --set pretrain.max_windows=128 --set finetune.epochs=1 --set finetune.max_windows=128",
    "neurorep data simulate sleep --out data/sim --subjects 10 --seed 0 --jobs 2":
        "neurorep data simulate sleep --out data/sim --subjects 4 --hours 1.5 --seed 0 --jobs 2",
    "neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml pretrain.epochs=2 --out runs/crl_cnn":
        f"neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml pretrain.epochs=2 --out runs/crl_cnn {TINY_SLEEP_RUN}",
    "neurorep benchmark sleep-ssl --preset quick --data data/sim --out runs/grid --jobs 2":
        f"neurorep benchmark sleep-ssl --preset quick --data data/sim --out runs/grid --jobs 2 {TINY_SLEEP_GRID}",
    "neurorep run configs/kd-sleep/feat_temp.yaml --out runs/kd-sleep/feat_temp":
        f"neurorep run configs/kd-sleep/feat_temp.yaml --out runs/kd-sleep/feat_temp {TINY_KD}",
    "neurorep benchmark kd-sleep --out runs/kd-bench --jobs 2":
        f"neurorep benchmark kd-sleep --out runs/kd-bench --jobs 2 {TINY_KD_GRID} --set 'modes=[eeg_base,ecg_base,kd_temp]'",
    "neurorep benchmark eeg-image --out runs/eeg-image":
        f"neurorep benchmark eeg-image --out runs/eeg-image {TINY_EEG_IMAGE_GRID}",
    "neurorep run configs/eeg-image/quick_sim.yaml --out runs/eeg-image-one":
        f"neurorep run configs/eeg-image/quick_sim.yaml --out runs/eeg-image-one {TINY_EEG_IMAGE}",
    "neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 2":
        f"neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 2 {TINY_MEG_GRID}",
    "neurorep benchmark foundation --out runs/foundation --jobs 2":
        f"neurorep benchmark foundation --out runs/foundation --jobs 2 {TINY_FOUNDATION_GRID}",
    "neurorep run configs/foundation/transfer.yaml --out runs/foundation-transfer":
        f"neurorep run configs/foundation/transfer.yaml --out runs/foundation-transfer {TINY_FOUNDATION}",
    # docs/eeg_image.md
    "neurorep data simulate things-eeg2 --out runs/eeg-image-data/quick --subjects 4 --set n_train_concepts=500 "
    "--set images_per_concept=4":
        "neurorep data simulate things-eeg2 --out runs/eeg-image-data/quick --subjects 4 --set n_train_concepts=40 "
        "--set images_per_concept=4 --set n_test_concepts=20",
    "neurorep run configs/eeg-image/quick_sim.yaml --out runs/eeg-image/quick_sim":
        f"neurorep run configs/eeg-image/quick_sim.yaml --out runs/eeg-image/quick_sim {TINY_EEG_IMAGE}",
    "neurorep run configs/eeg-image/quick_sim_inter.yaml --out runs/eeg-image/quick_sim_inter":
        f"neurorep run configs/eeg-image/quick_sim_inter.yaml --out runs/eeg-image/quick_sim_inter {TINY_EEG_IMAGE}",
    "neurorep run configs/eeg-image/quick_sim_finetune.yaml --out runs/eeg-image/quick_sim_ft subj_training_ratio=0.25":
        "neurorep run configs/eeg-image/quick_sim_finetune.yaml --out runs/eeg-image/quick_sim_ft "
        f"subj_training_ratio=0.25 {TINY_EEG_IMAGE}",
    "neurorep benchmark eeg-image --out runs/eeg-image/quick":
        f"neurorep benchmark eeg-image --out runs/eeg-image/quick {TINY_EEG_IMAGE_GRID}",
    # docs/export_registry.md (its RUN is a grid row of the `make demo` grid, made first: see PREPARE)
    # docs/foundation.md
    "neurorep benchmark foundation --out runs/foundation-quick --jobs 2":
        f"neurorep benchmark foundation --out runs/foundation-quick --jobs 2 {TINY_FOUNDATION_GRID}",
    "neurorep run configs/foundation/pretrain.yaml --out runs/foundation-pretrain":
        f"neurorep run configs/foundation/pretrain.yaml --out runs/foundation-pretrain {TINY_FOUNDATION}",
    "neurorep run configs/foundation/finetune.yaml --out runs/foundation-finetune":
        f"neurorep run configs/foundation/finetune.yaml --out runs/foundation-finetune {TINY_FOUNDATION}",
    "neurorep run configs/foundation/scratch.yaml --out runs/foundation-scratch":
        f"neurorep run configs/foundation/scratch.yaml --out runs/foundation-scratch {TINY_FOUNDATION}",
    "neurorep data simulate hms --out data/hms-sim --subjects 40 --seed 0 --set duration_s=70":
        "neurorep data simulate hms --out data/hms-sim --subjects 6 --seed 0 --set duration_s=60",
    # docs/kd_sleep.md
    "neurorep benchmark kd-sleep --out runs/kd-sleep-bench --jobs 2":
        f"neurorep benchmark kd-sleep --out runs/kd-sleep-bench --jobs 2 {TINY_KD_GRID} --set 'modes=[eeg_base,ecg_base]'",
    "neurorep data simulate mass --out /tmp/kdm/data --subjects 12 --set hours=8":
        f"neurorep data simulate mass --out kdm/data {TINY_KD_SIM}",
    "neurorep benchmark kd-sleep --preset medium --data /tmp/kdm/data --out runs/kd-medium --jobs 2":
        "neurorep benchmark kd-sleep --preset medium --data kdm/data --out runs/kd-medium --jobs 2 --seeds 1 "
        "--set 'schemes=[3class]' --set 'modes=[ecg_base]' --set base.train.epochs=1 --set base.data.split.val=0.2 "
        "--set base.data.split.test=0.4",
    # docs/meg_ablation.md
    ".venv/bin/neurorep data simulate meg --out runs/meg-data --subjects 6 --jobs 2 --set seconds=6":
        "neurorep data simulate meg --out runs/meg-data --subjects 5 --jobs 2 --set seconds=3",
    ".venv/bin/neurorep run configs/meg-ablation/intra_all.yaml --out runs/meg-intra-all":
        f"neurorep run configs/meg-ablation/intra_all.yaml --out runs/meg-intra-all {TINY_MEG}",
    ".venv/bin/neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 1":
        f"neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 1 {TINY_MEG_GRID}",
    # docs/ssl.md
    "neurorep benchmark ssl --data .cache/sim --out runs/ssl-sim --set task=sleep --jobs 2":
        f"neurorep benchmark ssl --data .cache/sim --out runs/ssl-sim --set task=sleep --jobs 2 {TINY_SSL_GRID}",
    "neurorep benchmark ssl --data .cache/sim --out runs/ssl-views --set task=sleep --set augment=sleep "
    "--set 'paradigms=[crl]'":
        "neurorep benchmark ssl --data .cache/sim --out runs/ssl-views --set task=sleep --set augment=sleep "
        f"{TINY_SSL_GRID}",
    "neurorep benchmark ssl --data .cache/sim --out runs/ssl-all --set task=sleep --set pretrain.windows=all "
    "--set 'paradigms=[crl]'":
        "neurorep benchmark ssl --data .cache/sim --out runs/ssl-all --set task=sleep --set pretrain.windows=all "
        f"{TINY_SSL_GRID}",
    # docs/simulated_corpus.md
    "neurorep data simulate sleep --out DIR --subjects 10 --seed 0":
        "neurorep data simulate sleep --out DIR --subjects 2 --hours 1 --seed 0",
    ".venv/bin/python benchmarks/sim_difficulty.py --subjects 6 --hours 4 --no-write":
        ".venv/bin/python benchmarks/sim_difficulty.py --subjects 4 --hours 1 --hold-out 1 --no-write",
}

#: snippet text -> replacement, applied to every Python snippet.
PY_SHRINK: dict[str, str] = {
    '["pretrain.epochs=2"]': repr(["pretrain.epochs=2", *TINY_SLEEP_RUN.split()]),
    'preset="small", n_channels=19, n_times=10000': 'preset="tiny", n_channels=19, n_times=1000',
    'simulate_sleep("DIR", n_subjects=10, seed=0, nights=1, hours=8.0, jobs=2, progress=True)':
        'simulate_sleep("DIR", n_subjects=2, seed=0, nights=1, hours=1.0, jobs=2, progress=True)',
    "night = simulate_night(subject=0, night=1, seed=0, hours=8.0)": "night = simulate_night(subject=0, night=1, seed=0, hours=1.0)",
    "torch.randn(2, 19, 10000)": "torch.randn(2, 19, 1000)",
}

#: placeholders of a document -> what they stand for in its session.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "README.md": {"RUN/": "runs/grid/runs/supervised_cnn_s0_f0/", " RUN ": " runs/grid/runs/supervised_cnn_s0_f0 "},
    "docs/export_registry.md": {"RUN/": "runs/demo/runs/supervised_cnn_s1_f0/",
                                " RUN ": " runs/demo/runs/supervised_cnn_s1_f0 "},
    "docs/reading_data.md": {"../shared/data/": f"{SHARED_DATA}/"},  # the small real recordings beside the clone
    "docs/your_own_data.md": {"../shared/data/": f"{SHARED_DATA}/"},
}

#: commands run before a document, standing for what its text says was done first.
PREPARE: dict[str, list[str]] = {
    "docs/export_registry.md": [f"neurorep benchmark sleep-ssl --out runs/demo {TINY_SLEEP_GRID} --seeds 2 "
                                "--set data.simulate.subjects=4 --set data.simulate.hours=1.5"],
}

#: Python snippets that use names from the surrounding text (models, loaders, embeddings): they must
#: compile and their imports must work. Keyed by (file, first line of the snippet).
FRAGMENTS: dict[tuple[str, str], str] = {
    ("docs/distributed.md", "from neurorep.training import ClassifierModule, build_trainer, fit"):
        "encoder and loaders come from the reader's code",
    ("docs/distributed.md", "from torch.utils.data import DataLoader, DistributedSampler"):
        "ds, b and trainer come from the reader's code",
    ("docs/eeg_image.md", "from neurorep.safe_pickle import load_npy_dict"): "embeddings come from a run",
    ("docs/export_registry.md", "from neurorep.export.model_store import register_model, list_models, show_model,"):
        "x comes from the reader's data",
    ("docs/export_registry.md", "from neurorep.evaluation.ensemble import evaluate_ensemble, predict_proba"):
        "members and data come from the reader's code",
    ("docs/export_registry.md", '"""ensemble_demo.py RUN OUT: eeg_foundation + resnet_gru + spectrogram_cnn on a'):
        "a script file taking RUN and OUT arguments (minutes of training)",
}

#: documented command -> why it is not run here (it is still parsed and its paths checked).
NOT_RUN: dict[str, str] = {
    "python tests/data/edf_parity.py /path/to/folder": "a folder of the reader's own EDF/BDF files",
    "neurorep data prepare path/to/bids --out cache/bids --events left=left_hand,right=right_hand --tmin 0 --tmax 4":
        "the reader's own BIDS folder (tests/data/test_own_recordings.py writes and prepares one)",
    # docs/published_models.md: a published checkpoint file (downloaded from the authors' hub pages)
    "neurorep published load cbramod cbramod.safetensors --n-channels 19 --n-times 2000 --sfreq 200 "
    "--n-outputs 4 --save cbramod_encoder": "a published checkpoint file",
    "neurorep export cbramod_encoder --format onnx --out cbramod.onnx": "the encoder saved from a published checkpoint",
    "neurorep data prepare my_recordings/ --out cache --sfreq 200 --window 10 --channels "
    "'Fp1,Fp2,F3,F4,C3,C4,P3,P4,O1,O2'": "the reader's own recordings",
    "neurorep published load labram braindecode/labram-pretrained --n-channels 10 --n-times 2000 --sfreq 200 "
    "--ch-names 'Fp1,Fp2,F3,F4,C3,C4,P3,P4,O1,O2'": "downloads a published checkpoint (internet)",
    "neurorep benchmark ssl --data cache --out grid --set 'encoders=[cnn,cbramod,labram]' "
    "--set 'encoder_weights={cbramod: braindecode/cbramod-pretrained, labram: braindecode/labram-pretrained}'":
        "published checkpoints (internet) and a cache of the reader's own recordings; "
        "tests/recipes/test_ssl.py runs encoder_weights with a saved model",
    "neurorep benchmark sleep-ssl --preset quick --data DIR --out grid --set 'encoders=[cnn,cbramod,biot,labram,eegpt]' "
    "--set 'encoder_kwargs={\"cbramod\": {\"patch_size\": 100}, \"labram\": {\"patch_size\": 100}}'":
        "a grid of minutes; tests/recipes/test_published_in_benchmark.py (slow) runs it on a tiny corpus",
    # docs/ssl.md
    "neurorep benchmark ssl --data .cache/sim --out runs/ssl-published --set task=sleep "
    "--set 'encoders=[cnn,cbramod,biot]' --set 'encoder_kwargs={cbramod: {patch_size: 100}}'":
        "a grid of minutes with full-size published architectures on CPU",
    "python benchmarks/ssvep_baselines.py --data ../shared/data/ssvep-exo --folds 4":
        "minutes on the real recordings; rewrites benchmarks/RESULTS.md",
    # docs/distributed.md, docs/*: the test suite and cluster launchers
    ".venv/bin/python -m pytest -q tests/training/test_ddp.py": "the test suite itself",
    "torchrun --nnodes 2 --nproc-per-node 4 --node-rank $NODE_RANK --rdzv-backend c10d --rdzv-endpoint $MASTER:29500 "
    "train.py": "a multi-node GPU cluster",
    "srun .venv/bin/python train.py": "a SLURM cluster",
    ".venv/bin/python -m pytest -q tests/core/test_safe_pickle.py tests/data/test_things_eeg2.py "
    "tests/objectives/test_clip.py tests/evaluation/test_retrieval.py tests/recipes/test_eeg_image.py":
        "the test suite itself",
    ".venv/bin/python -m pytest -q tests/encoders/test_contract.py -k resnet1d": "the test suite itself",
    ".venv/bin/python -m pytest -q tests/recipes/test_eeg_image.py -m slow": "the test suite itself",
    ".venv/bin/python -m pytest -q tests/encoders/test_eeg_foundation.py tests/data/test_hms.py "
    "tests/objectives/test_foundation_objective.py tests/training/test_finetune.py "
    "tests/evaluation/test_soft_labels.py tests/recipes/test_foundation.py": "the test suite itself",
    # docs/real_data.md: the real recordings of ../shared/data and grids of tens of minutes on 2 cores
    'neurorep data prepare ../shared/data/ssvep-exo --out CACHE_SSVEP --events rest=1,13Hz=2,21Hz=3,17Hz=4 --tmin 2 --tmax 4 --sfreq 128 --l-freq 1 --h-freq 45':
        'prepares real recordings (tests/data/test_own_recordings_real.py prepares these sets)',
    'neurorep data prepare ../shared/data/ssvep-exo --out CACHE_SSVEP_FIXED --window 2 --stride 1 --keep-unlabelled --events rest=1,13Hz=2,21Hz=3,17Hz=4 --sfreq 128 --l-freq 1 --h-freq 45':
        'prepares real recordings (the README prepares the same windows and runs the shrunk grid)',
    "neurorep benchmark ssl --data CACHE_SSVEP --out runs/ssvep-exo --preset ssvep-exo --jobs 2 --set 'pretrain.extra_caches=[CACHE_SSVEP_FIXED]'":
        'a real-data grid of tens of minutes (tests/recipes/test_ssl_temporal.py runs its parts)',
    "neurorep benchmark ssl --data CACHE_SSVEP --out runs/x --preset ssvep-exo --set 'classic=[bandpower_lr]' --set 'baselines=[random]' --set 'pretrain.extra_caches=[CACHE_SSVEP_FIXED]' --set 'paradigms=[tcl,rp]' --set 'encoders=[shallow]' --set 'encoder_kwargs={shallow: {n_temporal: 8, n_spatial: 16, temporal_kernel: 33}}'":
        'an exploratory real-data grid of minutes',
    # docs/ssl.md
    "neurorep benchmark ssl --data CACHE --out runs/tcl --preset ssvep-exo --set 'pretrain.extra_caches=[CACHE_FIXED]' --set 'paradigms=[tcl,rp]' --set 'objective_kwargs={tcl: {tau_pos: 1.0}, rp: {tau_pos: 2.0, tau_neg: 10.0}}'":
        'needs a real event cache and its continuous windows (tests/recipes/test_ssl_temporal.py runs the objectives)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/scl --preset eegmmidb --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set 'paradigms=[scl]' --set 'objective_kwargs={scl: {segment_seconds: 2.0}}'":
        'needs a real event cache and its continuous windows (tests/objectives/test_segment_contrastive.py runs the objective)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/mbp --preset eegmmidb --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set 'encoders=[shallow]' --set 'encoder_kwargs={shallow: {n_temporal: 8, n_spatial: 32, temporal_kernel: 65}}' --set 'paradigms=[mbp]' --set pretrain.epochs=40 --set pretrain.lr=0.003 --set 'objective_kwargs={mbp: {mask: channels, mask_ratio: 0.5, patch_seconds: 1.0, bands: [[8, 10], [10, 13], [13, 20], [20, 30]]}}'":
        'needs a real event cache and its continuous windows (tests/objectives/test_band_objectives_in_ssl.py runs the objective)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/eegmmidb-fresh --preset eegmmidb --jobs 2 --seeds 10 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set first_seed=10 --set 'baselines=[random]'":
        'a real-data grid of minutes (the preset on seeds 10-19, without the supervised row)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/eegmmidb-64 --preset eegmmidb --jobs 2 --seeds 10 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set first_seed=20 --set 'baselines=[random]' --set 'encoder_kwargs={shallow: {n_temporal: 8, n_spatial: 64, temporal_kernel: 65}}'":
        'a real-data grid of minutes (a wider encoder on seeds 20-29)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/eegmmidb-single --preset eegmmidb --jobs 2 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set pretrain.epochs=40 --set data.split.repeats=1 --set first_seed=5":
        'a real-data grid of minutes (the earlier setting on seeds 5-9)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/eegmmidb-mu-beta --preset eegmmidb --jobs 2 --seeds 10 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set 'paradigms=[]' --set 'baselines=[random]' --set 'classic=[bandpower_lr]' --set 'classic_options={bands: [[8, 13], [13, 30]]}' --set data.split.repeats=1":
        'a real-data grid (classic and random-init rows only)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/eegmmidb-eegnet --preset eegmmidb --jobs 2 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set 'encoders=[eegnet]' --set 'paradigms=[crl]' --set pretrain.epochs=15 --set pretrain.lr=0.001":
        'a real-data grid of minutes (the earlier eegnet rows)',
    'neurorep data prepare ../shared/data/eegmmidb --out CACHE_MMI --channels Fc5.,Fc3.,Fc1.,Fcz.,Fc2.,Fc4.,Fc6.,C5..,C3..,C1..,Cz..,C2..,C4..,C6..,Cp5.,Cp3.,Cp1.,Cpz.,Cp2.,Cp4.,Cp6. --events rest=T0,left=T1,right=T2 --tmin 0 --tmax 4 --sfreq 128 --l-freq 1 --h-freq 40':
        'prepares real recordings (tests/data/test_own_recordings_real.py prepares these sets)',
    'neurorep data prepare ../shared/data/eegmmidb --out CACHE_MMI_FIXED --channels Fc5.,Fc3.,Fc1.,Fcz.,Fc2.,Fc4.,Fc6.,C5..,C3..,C1..,Cz..,C2..,C4..,C6..,Cp5.,Cp3.,Cp1.,Cpz.,Cp2.,Cp4.,Cp6. --window 4 --stride 1 --keep-unlabelled --events rest=T0,left=T1,right=T2 --sfreq 128 --l-freq 1 --h-freq 40':
        'prepares real recordings (tests/data/test_own_recordings_real.py prepares these sets)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/eegmmidb --preset eegmmidb --jobs 2 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]'":
        'a real-data grid of tens of minutes (tests/recipes/test_ssl_real_presets.py runs its parts)',
    'neurorep data prepare ../shared/data/eegmmidb --out CACHE_MMI_BIN --channels Fc5.,Fc3.,Fc1.,Fcz.,Fc2.,Fc4.,Fc6.,C5..,C3..,C1..,Cz..,C2..,C4..,C6..,Cp5.,Cp3.,Cp1.,Cpz.,Cp2.,Cp4.,Cp6. --events rest=T0,move=T1,move=T2 --tmin 0 --tmax 4 --sfreq 128 --l-freq 1 --h-freq 40':
        'prepares real recordings (the same windows as CACHE_MMI, two classes)',
    "neurorep benchmark ssl --data CACHE_MMI_BIN --out runs/eegmmidb-rest-move --preset eegmmidb --jobs 2 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set 'encoders=[eegnet]' --set 'paradigms=[crl,tcl]' --set pretrain.epochs=15 --set pretrain.lr=0.001":
        'a real-data grid of tens of minutes (tests/recipes/test_ssl_pooled.py runs its pooled tables)',
    "neurorep benchmark ssl --data CACHE_MMI --out runs/x --preset eegmmidb --seeds 3 --set 'pretrain.extra_caches=[CACHE_MMI_FIXED]' --set 'encoders=[shallow]' --set 'encoder_kwargs={shallow: {n_temporal: 8, n_spatial: 16, temporal_kernel: 33}}' --set 'paradigms=[crl,tcl,rp]' --set 'baselines=[random]' --set 'classic=[bandpower_lr,tangent_lr]'":
        'an exploratory real-data grid of minutes',
    'neurorep data prepare ../shared/data/dreams --out CACHE_DREAMS --window 5 --sfreq 50':
        'prepares real recordings of ../shared/data',
    'neurorep benchmark ssl --data CACHE_DREAMS --out runs/dreams --preset quick --jobs 1 --set task=sleep '
    '--set folds=3 --set data.split.by=window': 'a real-data grid (about a minute on a quiet machine)',
    'neurorep data prepare ../shared/data/eye-state --out CACHE_EYES --format csv --csv-rate 128 --label-column class '
    '--events open=0,closed=1 --window 1 --assume-unit uV':
        'prepares real recordings (docs/your_own_data.md runs the same command)',
    'neurorep benchmark ssl --data CACHE_EYES --out runs/eye-state --preset quick --jobs 1 --set task=generic '
    '--set folds=3 --set data.split.by=window --set \'encoder_kwargs={"cnn": {"n_filters": 32, "embed_dim": 64, '
    '"n_convs": 2, "first_kernel": 25, "first_stride": 3}}\'': 'a real-data grid (about two minutes)',
    # real data, downloads, hours of compute
    "python -m neurorep.data.things_eeg2_download --out data/things-eeg2 --what preprocessed --match sub-01 sub-10":
        "downloads the real data (internet)",
    "neurorep data simulate things-eeg2 --out runs/eeg-image-data/full --subjects 10 --jobs 2":
        "writes 5.6 GB (the quick-size line above runs)",
    "neurorep run configs/eeg-image/nice_intra_sub01.yaml --out runs/eeg-image/nice_sub01": "real Things-EEG-2",
    "neurorep run configs/eeg-image/inter_pretrain_sub01-09.yaml --out runs/eeg-image/inter_sub1-9": "real Things-EEG-2",
    "neurorep run configs/eeg-image/finetune_sub10.yaml --out runs/eeg-image/ft_sub10 subj_training_ratio=0.5":
        "real Things-EEG-2",
    "neurorep benchmark eeg-image --out runs/eeg-image/full --preset full --data data/things-eeg2": "real Things-EEG-2",
    "neurorep run configs/foundation/full_real.yaml --out runs/hms --set data.source=/path/to/hms":
        "real HMS data on a GPU",
    ".venv/bin/python -m neurorep.cli benchmark foundation --out runs/foundation-quick --jobs 1":
        "the grid of the first block, as it was measured",
    "neurorep benchmark kd-sleep --preset medium --data DIR --out runs/kd-medium --jobs 2":
        "the medium grid (35 min); its simulate-then-benchmark pair below runs shrunk",
    "neurorep benchmark kd-sleep --preset full --data /path/to/MASS --out runs/kd-mass": "real MASS data",
    "neurorep data simulate mass --out DIR --subjects 36 --hours 8 --jobs 2": "the 36-subject ceiling corpus",
    "neurorep run configs/kd-sleep/ecg_base.yaml data.source=DIR data.simulate=null "
    "data.split_file=configs/kd-sleep/splits/ceiling-30-train.json data.scheme=4class train.epochs=12 "
    "train.patience=5 decision=argmax --out runs/kd-ceiling-30": "needs the 36-subject ceiling corpus",
    "neurorep benchmark kd-sleep --preset medium --data DIR --out runs/kd-raw-ecg --jobs 2 --set seeds=3 "
    "--set 'schemes=[4class]' --set 'modes=[eeg_base,ecg_base,feat_train,feat_temp]' "
    "--set base.data.ecg.dataset=mass --set 'base.data.ecg.prepare={channels: [ECG], sfreq: 100.0, l_freq: 0.5, "
    "h_freq: 40.0}' --set 'base.data.ecg.encoder.kwargs.pools=[10,6,5]'": "a 2.6-hour grid",
    "neurorep benchmark kd-sleep --preset slpdb --data /path/to/slpdb --out runs/kd-slpdb --jobs 2":
        "real slpdb listings (tests/recipes/test_kd_slpdb.py runs the preset on synthetic records)",
    "neurorep run configs/kd-sleep/slpdb_ihr.yaml mode=evaluate checkpoint=runs/kd-sleep/slpdb "
    "evaluate_data=/path/to/more-slpdb --out runs/kd-sleep/slpdb-other":
        "needs a trained slpdb run and another slpdb folder (tests/recipes/test_kd_slpdb.py runs mode evaluate there)",
    ".venv/bin/neurorep benchmark meg-ablation --data /path/to/Final_Project_data --preset full --out runs/meg-full "
    "--jobs 2": "real HCP MEG data",
    ".venv/bin/neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 2":
        "the quick grid (12-38 min); the README's line and the --jobs 1 line below run it shrunk",
    ".venv/bin/python benchmarks/sim_difficulty.py": "5-8 minutes and rewrites benchmarks/RESULTS.md",
    "make demo": "the sleep-ssl grid, run below shrunk as `neurorep benchmark sleep-ssl`",
    "make test": "the test suite itself",
    "neurorep run configs/kd-sleep/slpdb_ihr.yaml --out runs/kd-sleep/slpdb": "real slpdb listings (see test below)",
    "python -m neurorep.data.things_eeg2_download --out data/things-eeg2": "downloads the real data (internet)",
    "neurorep benchmark meg-ablation --data /path/to/meg-data --out runs/meg-real --preset full": "real HCP MEG data",
    "neurorep run configs/foundation/full_real.yaml --out runs/hms --set data.source=/path/to/hms":
        "real HMS data on a GPU",
}


def _session(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder to run a document in, as the current folder, with its environment set."""
    folder = tmp / "session"
    folder.mkdir()
    for name in ("configs", "benchmarks", ".venv"):
        if (ROOT / name).exists():
            (folder / name).symlink_to(ROOT / name)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    monkeypatch.setenv("NEUROREP_REGISTRY", str(folder / "registry"))
    monkeypatch.setenv("HOME", str(folder / "home"))
    (folder / "home" / "Documents").mkdir(parents=True)  # a user's own folder, as the docs' examples assume
    (folder / "home" / "Documents" / "thesis.txt").write_text("not neurorep's\n")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("NEUROREP_DEBUG", raising=False)
    return folder


def _fill(text: str, file: str) -> str:
    for key, value in PLACEHOLDERS.get(file, {}).items():
        text = text.replace(key, value)
    return text


def _call(command: str, folder: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run one shell command; returns (exit code, stderr).

    ``neurorep ...`` (also as ``.venv/bin/neurorep``) runs in this process through
    :func:`neurorep.cli.main`, which saves a Python start-up per command; ``export VAR=VALUE``
    sets the variable for the rest of the document; anything else runs in bash.
    """
    words = [os.path.expanduser(w) if w.startswith("~") else w for w in shlex.split(command)]  # as bash would
    if words[0] == "export" and len(words) == 2 and "=" in words[1]:
        key, value = words[1].split("=", 1)
        monkeypatch.setenv(key, value.replace("$PWD", str(folder)))
        return 0, ""
    if words[0] in ("neurorep", ".venv/bin/neurorep") and not set("|&;<>$`") & set(command):
        from neurorep.cli import main

        capsys.readouterr()
        try:
            code = main(words[1:])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        return code, capsys.readouterr().err
    proc = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stderr


def fragment_reason(item: Item) -> str | None:
    """Why a Python snippet is a fragment (see :data:`FRAGMENTS`), or None for a snippet that runs."""
    first = item.text.splitlines()[0]
    return next((why for (file, start), why in FRAGMENTS.items() if file == item.file and first.startswith(start)), None)


def _run_item(item: Item, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if item.kind == "python" and fragment_reason(item):
        compile(item.text, item.where, "exec")
        imports = "\n".join(ln for ln in item.text.splitlines() if ln.startswith(("from ", "import ")))
        exec(compile(imports, item.where, "exec"), {})  # noqa: S102
        return
    if item.kind == "python":
        code = item.text
        for old, new in PY_SHRINK.items():
            code = code.replace(old, new)
        # dont_inherit: compiled as a reader's script is, without this module's `from __future__` flags
        exec(compile(_fill(code, item.file), item.where, "exec", dont_inherit=True),  # noqa: S102
             {"__name__": "__doc_snippet__"})
        return
    command = _fill(SHRINK.get(item.text, item.text), item.file)
    code, err = _call(command, folder, monkeypatch, capsys)
    if item.kind == "console":
        last = err.strip().splitlines()[-1] if err.strip() else ""
        last = last.replace(os.environ["HOME"], "/home/me")  # the docs show a user's home as /home/me
        assert code == 2 and last == item.expect, (
            f"{item.where}: `{command}` should exit 2 with the documented line\n  {item.expect}\n"
            f"got exit {code} and\n  {last}")
        return
    assert code == 0, f"{item.where}: `{command}` exited {code}:\n{err[-3000:]}"


def _run_document(items_: list[Item], folder: Path, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    assert items_, "no documented commands found"
    for item in items_:
        if item.text in NOT_RUN or item.kind == "inline":
            continue
        if "../shared/data" in item.text and not SHARED_DATA.is_dir():
            continue  # real recordings that are not here (the real_data tests are skipped too)
        _run_item(item, folder, monkeypatch, capsys)


#: README sections that run in the default test run (the newcomer's path); the recipe sections
#: after them each run in a fresh folder in the `slow` run (`make test-all`).
README_MAIN = ("Quickstart", "Command-line tour", "Python API",
               "Shipping a model: export, registry, distributed training, ensembles", "Errors and recovery")


def test_tables_name_documented_commands_only() -> None:
    """Every shrink, placeholder and not-run entry still matches a documented command (no stale entries)."""
    documented = {i.text for i in items()}
    stale = [k for k in [*SHRINK, *NOT_RUN] if k not in documented]
    assert not stale, f"entries for commands no longer in the docs: {stale}"
    snippets = "\n".join(i.text for i in items() if i.kind == "python")
    assert all(k in snippets for k in PY_SHRINK), [k for k in PY_SHRINK if k not in snippets]
    sections = {i.section for i in items(["README.md"])}
    assert set(README_MAIN) <= sections, set(README_MAIN) - sections


def test_inline_commands_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """`neurorep ...` commands quoted in the text name real subcommands and options, and their configs validate."""
    from neurorep.cli import build_parser

    folder = _session(tmp_path, monkeypatch)
    inline = [i for i in items() if i.kind == "inline"]
    assert len(inline) > 10
    for item in inline:
        words = shlex.split(item.text)
        capsys.readouterr()
        try:
            args, rest = build_parser().parse_known_args(words[1:])
        except SystemExit:  # a mention of a command without its required arguments is fine; a wrong name is not
            err = capsys.readouterr().err
            assert "the following arguments are required" in err, f"{item.where}: `{item.text}`: {err}"
            continue
        assert all("=" in r for r in rest), f"{item.where}: `{item.text}`: unknown arguments {rest}"
        if args.cmd == "run" and args.config is not None and (folder / args.config).is_file():
            code, err = _call(shlex.join([*words, "--help-keys"]), folder, monkeypatch, capsys)
            assert code == 0, f"{item.where}: {err}"


def test_not_run_commands_still_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Commands that cannot run here still name real options, configs and keys."""
    from neurorep.cli import build_parser

    folder = _session(tmp_path, monkeypatch)
    for item in items():
        if item.text not in NOT_RUN or item.kind == "inline":
            continue
        words = shlex.split(_fill(item.text, item.file))
        if words[0] == "neurorep":
            build_parser().parse_known_args(words[1:])
            if words[1] == "run":
                code, err = _call(shlex.join([*words, "--help-keys"]), folder, monkeypatch, capsys)
                assert code == 0, f"{item.where}: {err}"


def test_readme_main_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's quickstart, tour, Python API, shipping and error examples, top to bottom."""
    import time

    folder = _session(tmp_path, monkeypatch)
    main = [i for i in items(["README.md"]) if i.kind != "inline" and (i.section in README_MAIN or i.kind == "python")]  # snippets are quick
    _run_document(main, folder, monkeypatch, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("section", ["kd-sleep", "eeg-image", "meg-ablation", "foundation"])
def test_readme_recipe_section(section: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """Each recipe section of the README in a fresh folder."""
    folder = _session(tmp_path, monkeypatch)
    _run_document([i for i in items(["README.md"]) if i.section.startswith(section + ":") and i.kind != "python"],
                  folder, monkeypatch, capsys)


DOCS = [f for f in DOC_FILES if f != "README.md"]


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_doc_runs_top_to_bottom(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """Each docs/*.md page, in a fresh folder, after the commands its text assumes were run (PREPARE)."""
    folder = _session(tmp_path, monkeypatch)
    for command in PREPARE.get(doc, []):
        code, err = _call(command, folder, monkeypatch, capsys)
        assert code == 0, f"{doc}: preparing with `{command}` failed: {err[-2000:]}"
    _run_document([i for i in items([doc]) if i.kind != "inline"], folder, monkeypatch, capsys)


def test_every_fragment_and_prepare_entry_is_documented() -> None:
    found = {(i.file, i.text.splitlines()[0]) for i in items() if i.kind == "python"}
    for file, start in FRAGMENTS:
        assert any(f == file and first.startswith(start) for f, first in found), (file, start)
    assert set(PREPARE) <= set(DOCS)


@pytest.mark.real_data
def test_slpdb_config_on_real_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], shared_data: Path) -> None:
    """The slpdb command of docs/kd_sleep.md on the real listings (one epoch instead of eight)."""
    folder = _session(tmp_path, monkeypatch)
    code, err = _call(f"neurorep run configs/kd-sleep/slpdb_ihr.yaml train.epochs=1 progress=false "
                      f"--set data.source={shared_data / 'slpdb'} --out runs/kd_slpdb", folder, monkeypatch, capsys)
    assert code == 0, err
    assert (folder / "runs" / "kd_slpdb" / "metrics.json").is_file()


def test_doc_files_are_found() -> None:
    assert "README.md" in DOC_FILES and len(DOC_FILES) > 1
    kinds = {i.kind for i in items(["README.md"])}
    assert kinds == {"shell", "console", "python", "inline"}
