#!/usr/bin/env bash
# Slurm example: full fine-tune on several 8-GPU nodes, vLLM generation on one more node.
#
#   sbatch --nodes=3 recipes/accelerate/slurm_multinode.sh recipes/magistral_math_zero3_8gpu.yaml zero3
#
# The last node of the allocation runs `trl vllm-serve` on its 8 GPUs; the
# other nodes each start one `accelerate launch` with 8 training processes. Run from the
# repository root, with the package installed with the `gpu` extra on every node. Check the
# memory first: reasoning-rl plan RECIPE --gpus 8 --nodes 2
#SBATCH --job-name=reasoning-rl
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --exclusive
set -euo pipefail

RECIPE=${1:?usage: sbatch --nodes=N slurm_multinode.sh RECIPE [zero2|zero3]}
STAGE=${2:-zero3}
mapfile -t NODES < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
TRAIN_NODES=$(( ${#NODES[@]} - 1 ))
if (( TRAIN_NODES < 1 )); then
  echo "need at least 2 nodes: training node(s) plus one vLLM node" >&2
  exit 2
fi
VLLM_NODE=${NODES[-1]}
MAIN_NODE=${NODES[0]}
MODEL=$(reasoning-rl train "$RECIPE" --print-config | python -c \
  "import sys, yaml; print(yaml.safe_load(sys.stdin)['model']['name_or_path'])")

# Generation server on the node's 8 GPUs: 2 replicas x tensor parallel 4 (4 divides the head
# counts of the Qwen2.5 7B and 14B models; 8 does not divide 7B's 28 heads).
srun --nodes=1 --ntasks=1 --nodelist="$VLLM_NODE" \
  trl vllm-serve --model "$MODEL" --tensor_parallel_size 4 --data_parallel_size 2 --port 8000 &

# Training: one launcher per node (task i runs on training node i, so SLURM_PROCID is its
# machine rank); accelerate starts 8 processes on each. The trainer waits for the server
# (trainer.vllm_server_timeout, 240 s by default) while vLLM loads the model.
srun --nodes="$TRAIN_NODES" --ntasks="$TRAIN_NODES" --exclude="$VLLM_NODE" bash -c "
  accelerate launch --config_file recipes/accelerate/$STAGE.yaml \
    --num_machines $TRAIN_NODES --num_processes $(( 8 * TRAIN_NODES )) \
    --machine_rank \$SLURM_PROCID --main_process_ip $MAIN_NODE --main_process_port 29500 \
    -m reasoning_rl.cli train $RECIPE trainer.vllm_server_host=$VLLM_NODE"
