/*
 * main.c — `seqlab`: the command line.  Dispatches to one function per
 * subcommand (commands.h); the option helpers they share are options.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_cmd.h"
#include "commands.h"
#include "plot.h"
#include "util.h"

static const char *usage =
    "usage: seqlab COMMAND [options]\n"
    "\n"
    "A workbench that trains a vanilla RNN, an LSTM, a GRU and a Transformer on the\n"
    "same data with the same trainer, and measures them side by side.\n"
    "\n"
    "commands:\n"
    "  train      train one model on one task           seqlab train --model lstm --task recall\n"
    "  eval       score a text with a checkpoint        seqlab eval --checkpoint F --text FILE [--json]\n"
    "  sample     generate text from a checkpoint       seqlab sample --checkpoint F --prompt TEXT\n"
    "  translate  decode with an encoder-decoder        seqlab translate --checkpoint F --text TEXT [--beam K]\n"
    "  run        run an experiment grid, plot, report  seqlab run experiments/quick.ini\n"
    "  plot       draw an experiment's figures          seqlab plot runs/quick\n"
    "  attention  attention heatmaps of a Transformer   seqlab attention --checkpoint F --text TEXT --out DIR\n"
    "  bench      training speed and memory vs PyTorch  seqlab bench [--suite all] [--compare] [--csv F]\n"
    "\n"
    "`seqlab COMMAND --help` describes each command's options.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USER_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "train") == 0) return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "sample") == 0) return cmd_sample(argc - 1, argv + 1);
    if (strcmp(cmd, "translate") == 0) return cmd_translate(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0) return cmd_plot(argc - 1, argv + 1);
    if (strcmp(cmd, "attention") == 0) return cmd_attention(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "seqlab: unknown command '%s'\n\n%s", cmd, usage);
    return EXIT_USER_ERROR;
}
