/*
 * cmd_run.c — `seqlab run NAME.ini`: every run of an experiment's grid,
 * then summary.csv, the figures and the report.
 *
 * Each run is a child process (so that peak memory is measured per run and
 * a crash costs one run), up to --jobs at once.  A finished run (run.json
 * says "finished") is skipped; an interrupted one resumes from its
 * checkpoint.  Ctrl-C: every child finishes its step and checkpoints, no new
 * run starts, finished runs stay as they are.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attention_cmd.h"
#include "commands.h"
#include "plot.h"
#include "runner.h"
#include "train.h"
#include "registry.h"
#include "util.h"

static volatile sig_atomic_t run_stop;
static void on_run_signal(int sig) { run_stop = sig; }

static int file_exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* run.json of a run, parsed; NULL if absent or unreadable */
static cJSON *read_run_json(const char *dir)
{
    char p[1024];
    size_t len;
    snprintf(p, sizeof p, "%s/run.json", dir);
    char *text = file_read_all(p, &len);
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static int run_finished(const char *dir)
{
    cJSON *j = read_run_json(dir);
    if (!j) return 0;
    cJSON *st = cJSON_GetObjectItem(j, "status");
    int done = cJSON_IsString(st) && strcmp(st->valuestring, "finished") == 0;
    cJSON_Delete(j);
    return done;
}

/* train one run in this process: resume if it started before (train_run
 * continues from its checkpoint, or from step 0 if it had none yet) */
static int run_one(GridRun *r)
{
    char err[2048];
    TrainResult res;
    int resume = file_exists(r->s.out, "config.ini") &&
                 (file_exists(r->s.out, "model.safetensors") || file_exists(r->s.out, "train_state.bin"));
    Settings s = r->s;
    if (resume) fprintf(stderr, "seqlab: %s: resuming from its checkpoint\n", r->name);
    int status = train_run(&s, resume, &res, err, sizeof err);
    if (status != TRAIN_OK) fprintf(stderr, "seqlab: %s: %s\n", r->name, err);
    return status;
}

/* a finished run whose settings differ from what the experiment file now
 * says would be skipped and summarised as if it answered the new question:
 * name the first difference and stop before anything runs */
static int check_stale(const ExpPlan *e, char *err, size_t errlen)
{
    for (int i = 0; i < e->nruns; i++) {
        const GridRun *r = &e->runs[i];
        cJSON *j = read_run_json(r->s.out);
        if (!j) continue;
        cJSON *cfg = cJSON_GetObjectItem(j, "config");
        Settings planned = r->s;
        char e2[256], want[SETTING_STR_MAX + 32];
        settings_resolve(&planned, e2, sizeof e2);
        for (int k = 0; cfg && k < settings_count(); k++) {
            const char *key = settings_key(k);
            /* where the run went, how many threads it had and when it saved
             * do not change its numbers */
            if (!strcmp(key, "out") || !strcmp(key, "threads") || !strcmp(key, "save_every")) continue;
            cJSON *v = cJSON_GetObjectItem(cfg, key);
            if (!cJSON_IsString(v)) continue;
            settings_get(&planned, key, want, sizeof want);
            if (strcmp(v->valuestring, want) != 0) {
                snprintf(err, errlen, "%s: run %s in %s was made with %s = %s, the file now says %s; "
                         "remove that run's directory to run it again", e->path, r->name, r->s.out, key,
                         v->valuestring, want);
                cJSON_Delete(j);
                return -1;
            }
        }
        cJSON_Delete(j);
    }
    return 0;
}

static int write_experiment_json(const ExpPlan *e, char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "question", e->question);
    cJSON_AddStringToObject(o, "description", e->description);
    cJSON_AddStringToObject(o, "claims", e->claims);
    cJSON_AddStringToObject(o, "file", e->path);
    cJSON_AddNumberToObject(o, "runs", e->nruns);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    char p[1024];
    snprintf(p, sizeof p, "%s/experiment.json", e->runs_dir);
    int rc = file_write_atomic(p, text, strlen(text), err, errlen);
    free(text);
    return rc;
}

/* ---- summary.csv ------------------------------------------------------------ */

static const char *summary_header =
    "run,model,task,tokenizer,seq_len,eval_seq_len,distance,positions,clip,init_scale,threads,seed,params,steps,"
    "final_train_loss,final_val_loss,val_accuracy,chance_loss,chance_accuracy,val_perplexity,tokens_per_s,"
    "step_ms,seconds,peak_rss_mb,act_mb,critical_path,group,hidden_size,num_layers,batch_size,max_steps,"
    "architecture,bidirectional,pooling,train_examples,pretrained,majority_accuracy,attn_mb,vocab_size,"
    "non_embedding_params,train_fraction,train_tokens,"
    "attention,test_bleu,test_exact_match,val_bleu,val_exact_match,chance_exact_match";

static const char *cfg_str(cJSON *cfg, const char *key)
{
    cJSON *v = cJSON_GetObjectItem(cfg, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* cJSON writes NaN as null, which reads back as no number: print "nan" */
static void put_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.6g", v);
    else fputs(",nan", f);
}

/* a text field: ",value", CSV-quoted when it needs to be */
static void put_str(FILE *f, const char *v)
{
    fputc(',', f);
    csv_field(f, v);
}

int runner_summarize(const ExpPlan *e, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "%s\n", summary_header);
    int rows = 0;
    for (int i = 0; i < e->nruns; i++) {
        const GridRun *r = &e->runs[i];
        cJSON *j = read_run_json(r->s.out);
        if (!j) continue;
        cJSON *st = cJSON_GetObjectItem(j, "status");
        if (!cJSON_IsString(st) || strcmp(st->valuestring, "finished") != 0) {
            cJSON_Delete(j);
            continue;
        }
        cJSON *cfg = cJSON_GetObjectItem(j, "config"), *res = cJSON_GetObjectItem(j, "results"),
              *task = cJSON_GetObjectItem(j, "task");
        /* settings that do not apply to a run are written as "-" (text) or nan */
        const char *tname = cfg_str(cfg, "task");
        int is_text = !strcmp(tname, "chars") || !strcmp(tname, "words") || !strcmp(tname, "bytes") ||
                   !strcmp(tname, "text");
        const ModelInfo *info = model_info_find(cfg_str(cfg, "model"));
        int positions = info && model_info_uses(info, "positions");
        csv_field(f, r->name);
        put_str(f, cfg_str(cfg, "model"));
        put_str(f, tname);
        put_str(f, is_text ? cfg_str(cfg, "tokenizer") : "-");
        put_num(f, num(task, "seq_len"));
        put_num(f, num(task, "eval_seq_len"));
        int pairs = strcmp(cfg_str(cfg, "architecture"), "encoder-decoder") == 0;   /* no distance */
        put_str(f, is_text || pairs ? "nan" : cfg_str(cfg, "distance"));
        put_str(f, positions ? cfg_str(cfg, "positions") : "-");
        put_str(f, cfg_str(cfg, "clip"));
        put_str(f, cfg_str(cfg, "init_scale"));
        put_str(f, cfg_str(cfg, "threads"));
        put_str(f, cfg_str(cfg, "seed"));
        put_num(f, num(j, "params"));
        put_num(f, num(res, "step"));
        const char *keys[] = {"final_train_loss", "final_val_loss", "val_accuracy", "chance_loss", "chance_accuracy",
                              "val_perplexity", "tokens_per_s", "step_ms", "seconds", "peak_rss_mb", "act_mb",
                              "critical_path"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            put_num(f, (!is_text && strcmp(keys[k], "val_perplexity") == 0) ? NAN : num(res, keys[k]));
        /* steps is what the run took, max_steps its budget (fewer when it
         * stopped early, solved) */
        put_str(f, r->group[0] ? r->group : "-");
        put_str(f, cfg_str(cfg, "hidden_size"));
        put_str(f, cfg_str(cfg, "num_layers"));
        put_str(f, cfg_str(cfg, "batch_size"));
        put_str(f, cfg_str(cfg, "steps"));
        /* the encoder family: sequence classification's examples used (all
         * of the training split when train_examples = 0), whether the run
         * started from a checkpoint, and the majority-class baseline */
        cJSON *classes = cJSON_GetObjectItem(task, "classes");
        put_str(f, cfg_str(cfg, "architecture"));
        put_str(f, cfg_str(cfg, "bidirectional"));
        put_str(f, classes ? cfg_str(cfg, "pooling") : "-");
        put_num(f, classes ? num(task, "train_examples") : NAN);
        put_str(f, cfg_str(cfg, "init_from")[0] ? "1" : "0");
        put_num(f, classes ? num(task, "majority_accuracy") : NAN);
        /* the attention matrices' bytes (0 for a model without attention)
         * and the vocabulary (ln V is the loss of a uniform guess) */
        put_num(f, num(res, "attn_mb"));
        put_num(f, num(task, "vocab_size"));
        /* the scaling laws' N (Kaplan et al.: no embedding, position or
         * head tables) and D (the training tokens windows came from) */
        put_num(f, num(j, "non_embedding_params"));
        put_str(f, is_text ? cfg_str(cfg, "train_fraction") : "nan");
        put_num(f, num(task, "train_tokens"));
        /* encoder-decoder runs: the attention and the decoded outputs' scores */
        put_str(f, pairs ? cfg_str(cfg, "attention") : "-");
        const char *pair_keys[] = {"test_bleu", "test_exact_match", "val_bleu", "val_exact_match",
                                   "chance_exact_match"};
        for (size_t k = 0; k < sizeof pair_keys / sizeof pair_keys[0]; k++) put_num(f, num(res, pair_keys[k]));
        fputc('\n', f);
        rows++;
        cJSON_Delete(j);
    }
    fclose(f);
    char p[1024];
    snprintf(p, sizeof p, "%s/summary.csv", e->runs_dir);
    int rc = file_write_atomic(p, text, len, err, errlen);
    free(text);
    if (rc == 0) fprintf(stderr, "seqlab: %s: %d of %d runs finished\n", p, rows, e->nruns);
    return rc;
}

/* attention heatmaps and the position table from the first finished
 * Transformer run that has a checkpoint */
static void runner_attention(const ExpPlan *e)
{
    for (int i = 0; i < e->nruns; i++) {
        const GridRun *r = &e->runs[i];
        const ModelInfo *info = model_info_find(r->s.model);
        if (!info || !info->attention || strcmp(r->s.architecture, "decoder") != 0 || !run_finished(r->s.out))
            continue;
        char ckpt[1024], dir[1024], err[2048];
        snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", r->s.out);
        snprintf(dir, sizeof dir, "%s/posenc.csv", e->runs_dir);
        if (attention_write_positions(ckpt, dir, err, sizeof err) != 0) fprintf(stderr, "seqlab: %s\n", err);
        if (e->sentences[0] == '\0') return;
        char buf[sizeof e->sentences];
        snprintf(buf, sizeof buf, "%s", e->sentences);
        char *save = NULL;
        int k = 0;
        for (char *s = strtok_r(buf, "|", &save); s; s = strtok_r(NULL, "|", &save), k++) {
            while (*s == ' ') s++;
            size_t n = strlen(s);
            while (n > 0 && s[n - 1] == ' ') s[--n] = '\0';
            if (n == 0) continue;
            snprintf(dir, sizeof dir, "%s/attention/s%d", e->runs_dir, k + 1);
            if (attention_write(ckpt, s, dir, 1, 0, err, sizeof err) != 0) fprintf(stderr, "seqlab: %s\n", err);
        }
        return;
    }
}

/* "Man bites dog" against "Dog bites man" (the claim that the two differ
 * only through positions): for every finished word-level decoder run of a
 * model with attention, the total variation distance between its
 * next-token distributions after the two orders, one row per run in
 * word_order.csv (run,positions,layers,same_last,tv).  Written only when some
 * run has a row. */
#define ORDER_A "Man bites dog."
#define ORDER_B "Dog bites man."
static void runner_order(const ExpPlan *e)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "run,positions,layers,same_last,tv\n");
    int rows = 0;
    for (int i = 0; i < e->nruns; i++) {
        const GridRun *r = &e->runs[i];
        const ModelInfo *info = model_info_find(r->s.model);
        if (!info || !info->attention || strcmp(r->s.task, "words") != 0 || !run_finished(r->s.out)) continue;
        char ckpt[1024], err[2048], pos[16];
        snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", r->s.out);
        double tv;
        int same_last, layers;
        if (attention_order_distance(ckpt, ORDER_A, ORDER_B, &tv, &same_last, &layers, pos, err, sizeof err) != 0) {
            fprintf(stderr, "seqlab: %s\n", err);
            continue;
        }
        const char *name = strrchr(r->s.out, '/');
        fprintf(f, "%s,%s,%d,%d,%.9g\n", name ? name + 1 : r->s.out, pos, layers, same_last, tv);
        rows++;
    }
    fclose(f);
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/word_order.csv", e->runs_dir);
    if (rows && file_write_atomic(path, text, len, err, sizeof err) != 0) fprintf(stderr, "seqlab: %s\n", err);
    free(text);
}

/* alignment maps of the encoder-decoders with attention: for each model
 * (and attention kind) the first finished run of each task of pairs, on
 * the [attention] sentences (translate) or the first test sources */
static void runner_alignment(const ExpPlan *e)
{
    char done[64][96];
    int ndone = 0;
    for (int i = 0; i < e->nruns; i++) {
        const GridRun *r = &e->runs[i];
        if (strcmp(r->s.architecture, "encoder-decoder") != 0 || !run_finished(r->s.out)) continue;
        const ModelInfo *info = model_info_find(r->s.model);
        int recurrent_none = info && !info->attention && strcmp(r->s.attention, "additive") != 0;
        if (!info || recurrent_none) continue;     /* one fixed vector: nothing to draw */
        char key[96];
        snprintf(key, sizeof key, "%s-%s%s", r->s.task, r->s.model,
                 strcmp(r->s.attention, "additive") == 0 ? "-additive" : "");
        int seen = 0;
        for (int k = 0; k < ndone; k++) seen |= strcmp(done[k], key) == 0;
        if (seen || ndone == 64) continue;
        snprintf(done[ndone++], sizeof done[0], "%s", key);
        char ckpt[1024], dir[1200], err[2048];
        snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", r->s.out);
        /* the sources: [attention] sentences for translate, else two test sources */
        char buf[sizeof e->sentences];
        if (strcmp(r->s.task, "translate") == 0) snprintf(buf, sizeof buf, "%s", e->sentences);
        else {
            char tr[1100];
            snprintf(tr, sizeof tr, "%s/translations.txt", r->s.out);
            FILE *f = fopen(tr, "r");
            buf[0] = '\0';
            char line[4096];
            for (int k = 0; f && k < 3 && fgets(line, sizeof line, f); k++) {
                if (k == 0) continue;                          /* the header */
                char *tab = strchr(line, '\t');
                if (!tab) continue;
                *tab = '\0';
                size_t used = strlen(buf);
                if (used + strlen(line) + 2 < sizeof buf)
                    snprintf(buf + used, sizeof buf - used, "%s%.1000s", used ? "|" : "", line);
            }
            if (f) fclose(f);
        }
        char *save = NULL;
        int k = 0;
        for (char *s = strtok_r(buf, "|", &save); s; s = strtok_r(NULL, "|", &save), k++) {
            while (*s == ' ') s++;
            size_t n = strlen(s);
            while (n > 0 && s[n - 1] == ' ') s[--n] = '\0';
            if (n == 0) continue;
            snprintf(dir, sizeof dir, "%s/attention/%s_s%d", e->runs_dir, key, k + 1);
            if (attention_write(ckpt, s, dir, 1, 0, err, sizeof err) != 0) fprintf(stderr, "seqlab: %s\n", err);
        }
    }
}

/* the earlier run of the plan whose checkpoint run i starts from
 * (init_from = that run's model.safetensors), or -1: a fine-tuning run
 * waits for its pre-training run to finish */
static int init_from_run(const ExpPlan *e, int i)
{
    const char *from = e->runs[i].s.init_from;
    if (!from[0]) return -1;
    for (int k = 0; k < i; k++) {
        const char *out = e->runs[k].s.out;
        size_t n = strlen(out);
        if (strncmp(from, out, n) == 0 && strcmp(from + n, "/model.safetensors") == 0) return k;
    }
    return -1;
}

static void run_help(void)
{
    printf("usage: seqlab run EXPERIMENT.ini [--jobs N] [--list] [--only K] [--summarize] [--runs DIR]\n"
           "\n"
           "Run every run of an experiment's grid into DIR/NAME/<run>/ (DIR = runs), then write\n"
           "DIR/NAME/summary.csv, draw DIR/NAME/figures/ and rewrite DIR/index.html.\n"
           "A finished run is skipped, an interrupted one resumes, one that another process is\n"
           "writing (its lock) is left to it; Ctrl-C stops cleanly.\n"
           "\n"
           "  --jobs N      run N at once, the threads divided between them [1]\n"
           "  --list        print the runs, one per line: index, name and the exact command\n"
           "                (shell-quoted: a shell gives it back the same arguments)\n"
           "  --only K      run only the K-th run (0-based; default $SLURM_ARRAY_TASK_ID if set)\n"
           "  --summarize   gather finished runs (done here or elsewhere), plot, write the report\n"
           "  --runs DIR    where experiments go [runs]\n"
           "  --no-plot     skip the figures and the report\n");
}

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *runs_root = "runs";
    int jobs = 1, list = 0, summarize = 0, no_plot = 0;
    long only = -1;
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--help") || strcmp(argv[i], "-h") == 0) {
            run_help();
            return 0;
        } else if (opt_is(argv[i], "--jobs")) jobs = (int)opt_long("--jobs", opt_value(argc, argv, &i), 1, 256);
        else if (opt_is(argv[i], "--only")) only = opt_long("--only", opt_value(argc, argv, &i), 0, 1000000);
        else if (opt_is(argv[i], "--list")) list = 1;
        else if (opt_is(argv[i], "--summarize")) summarize = 1;
        else if (opt_is(argv[i], "--no-plot")) no_plot = 1;
        else if (opt_is(argv[i], "--runs")) runs_root = opt_value(argc, argv, &i);
        else if (argv[i][0] == '-') die("run: unknown option '%s' (see `seqlab run --help`)", argv[i]);
        else if (!path) path = argv[i];
        else die("run: more than one experiment file ('%s' and '%s')", path, argv[i]);
    }
    if (!path) die("run: which experiment? e.g. seqlab run experiments/quick.ini");
    if (only < 0 && !list && !summarize) {
        const char *slurm = getenv("SLURM_ARRAY_TASK_ID");
        if (slurm && *slurm) only = opt_long("$SLURM_ARRAY_TASK_ID", slurm, 0, 1000000);
    }
    char err[4096];
    ExpPlan *e = plan_load(path, runs_root, err, sizeof err);
    if (!e) die("%s", err);
    if (list) {
        for (int i = 0; i < e->nruns; i++) {
            char *cmd = plan_command(e, i);
            printf("%d\t%s\t%s\n", i, e->runs[i].name, cmd);
            free(cmd);
        }
        plan_free(e);
        return 0;
    }
    if (!summarize && check_stale(e, err, sizeof err) != 0) die("%s", err);
    if (mkdir_p(e->runs_dir) != 0) die("cannot create '%s': %s", e->runs_dir, strerror(errno));
    if (write_experiment_json(e, err, sizeof err) != 0) die("%s", err);
    int status = 0;
    if (only >= 0) {
        if (only >= e->nruns) die("--only %ld: the experiment has %d runs (0 .. %d)", only, e->nruns, e->nruns - 1);
        GridRun *r = &e->runs[only];
        long holder = dir_lock_holder(r->s.out);
        if (run_finished(r->s.out) && !holder) {
            fprintf(stderr, "seqlab: %s: already finished\n", r->name);
        } else {
            train_install_signal_handlers();
            status = run_one(r);
        }
        plan_free(e);
        return status;
    }
    if (!summarize) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_run_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        long ncores = sysconf(_SC_NPROCESSORS_ONLN);
        int per_job = (int)(ncores > jobs ? ncores / jobs : 1);
        pid_t *pids = xcalloc((size_t)e->nruns, sizeof *pids);
        int running = 0, failed = 0, done = 0, skipped = 0, busy = 0, forwarded = 0;
        double t0 = now_seconds();
        for (int i = 0; i <= e->nruns; i++) {
            /* wait while all job slots are busy (or, at the end, for everyone,
             * or while the run this one starts from is still going) */
            int dep = i < e->nruns ? init_from_run(e, i) : -1;
            while (running > 0 &&
                   (running >= jobs || i == e->nruns || run_stop || (dep >= 0 && pids[dep] > 0))) {
                /* a signal for this process alone (kill, a scheduler) must
                 * still reach the runs, whether it came during wait() or
                 * between two of them: each run checkpoints and stops */
                if (run_stop && !forwarded) {
                    for (int k = 0; k < e->nruns; k++)
                        if (pids[k] > 0) kill(pids[k], SIGTERM);
                    forwarded = 1;
                }
                int ws;
                pid_t p = wait(&ws);
                if (p < 0) {
                    if (errno == EINTR) continue;
                    break;
                }
                running--;
                for (int k = 0; k < e->nruns; k++)
                    if (pids[k] == p) {
                        pids[k] = 0;
                        int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
                        if (code == 0) done++;
                        else if (code == TRAIN_BUSY) busy++;   /* another seqlab took it first: said above */
                        else if (code != TRAIN_INTERRUPTED) {
                            failed++;
                            fprintf(stderr, "seqlab: run %s failed (exit %d); see above\n", e->runs[k].name, code);
                        }
                    }
            }
            if (i == e->nruns || run_stop) break;
            GridRun *r = &e->runs[i];
            long holder = dir_lock_holder(r->s.out);
            if (holder) {
                /* another seqlab (a second `seqlab run`, a job array) has it */
                fprintf(stderr, "seqlab: %s: being run by process %ld; left to it\n", r->name, holder);
                busy++;
                continue;
            }
            if (run_finished(r->s.out)) {
                skipped++;
                continue;
            }
            if (jobs > 1 && r->s.threads > per_job) r->s.threads = per_job;
            fprintf(stderr, "seqlab: [%d/%d] %s\n", i + 1, e->nruns, r->name);
            fflush(stderr);
            pid_t p = fork();
            if (p < 0) die("cannot start run %s: %s", r->name, strerror(errno));
            if (p == 0) {
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                train_install_signal_handlers();
                int rc = run_one(r);
                free(pids);   /* the child's copies: memcheck sees a clean exit */
                plan_free(e);
                _exit(rc);
            }
            pids[i] = p;
            running++;
        }
        free(pids);
        fprintf(stderr, "seqlab: %s: %d runs done, %d skipped (finished before), %d left to another process, "
                "%d failed, %.0f s\n", e->name, done, skipped, busy, failed, now_seconds() - t0);
        if (run_stop) {
            fprintf(stderr, "seqlab: stopped; finished runs are kept, `seqlab run %s` continues\n", path);
            status = TRAIN_INTERRUPTED;
        } else if (failed) {
            status = 1;
        }
    }
    if (runner_summarize(e, err, sizeof err) != 0) {
        fprintf(stderr, "seqlab: %s\n", err);
        status = status ? status : 1;
    }
    if (!no_plot && status != TRAIN_INTERRUPTED) {
        runner_attention(e);
        runner_order(e);
        runner_alignment(e);
        if (plot_experiment(e->runs_dir, err, sizeof err) != 0) fprintf(stderr, "seqlab: plot: %s\n", err);
        if (report_write(runs_root, err, sizeof err) != 0) fprintf(stderr, "seqlab: report: %s\n", err);
        else fprintf(stderr, "seqlab: report: %s/index.html\n", runs_root);
    }
    plan_free(e);
    return status;
}
