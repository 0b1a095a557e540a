# seqlab — build, test, run.  `make help` lists the targets.
#
#   make                 ./seqlab (float build)
#   make check           every Check suite: float, double (REAL=double), ASan+UBSan;
#                        the crash test (kill -9, resume, compare); the reference build
#                        against the fast one; the READMEs' maps, the folders' layers
#                        and the registry (tests/check_*.sh); the report in headless
#                        Chromium (check-browser)
#   make REAL=double     build in double precision (gradient checks)
#   make SAN=1           build with AddressSanitizer + UndefinedBehaviorSanitizer
#   make REFERENCE=1     ./seqlab-ref: trains through the plain loops only (the `_ref`
#                        functions, one thread; no BLAS, vector math or blocking)
#   make check-recipes   the README's Slurm and GNU parallel recipes, for real (root)
#   make data            data/kjv.txt from Debian's bible-kjv package, and the
#                        English-Spanish verse pairs data/kjv-es.tsv (+ sword-text-sparv)
#   make quick           the default experiment (experiments/quick.ini)
#   make bench           the benchmark table (runs/bench.csv)
#   make bench-compare   the same beside PyTorch's numbers (runs/bench-compare.csv)
#   make fuzz            each libFuzzer harness in fuzz/ for FUZZ_SECONDS (clang)
#   make valgrind        the float test programs under valgrind memcheck

REAL ?= float
SAN ?=
REFERENCE ?=
BUILD := build/$(REAL)$(if $(REFERENCE),-ref)$(if $(SAN),-san)

PKGS := gsl inih libcjson check
CFLAGS ?= -O2 -g
SEQLAB_CFLAGS := -std=c11 -Wall -Wextra -Wshadow -MMD -MP -I. -Icore -Idata \
                 $(shell pkg-config --cflags $(PKGS))
# Plain loops vectorised where that changes no result: -fno-math-errno lets
# sqrt be one instruction (Adam's), and GCC's dynamic cost model vectorises
# loops that need a remainder or an aliasing check, which -O2's "very cheap"
# model leaves scalar (Adam and clipping over 1.75 M parameters: 7.1 -> 3.0
# ms).  Nothing is reassociated: every sum keeps its order.  (Probed: a
# compiler without the cost-model option goes without it.)
SEQLAB_CFLAGS += -fno-math-errno $(shell $(CC) -Werror -fvect-cost-model=dynamic -E -x c /dev/null \
                 -o /dev/null 2>/dev/null && echo -fvect-cost-model=dynamic)
ifeq ($(REAL),double)
SEQLAB_CFLAGS += -DSEQLAB_DOUBLE
endif
# the vector math's polynomials as fused multiply-adds where the CPU has them
# (core/vecmath.c, its x86-64-v3 version; -std=c11 alone never fuses)
$(BUILD)/core/vecmath.o: SEQLAB_CFLAGS += -ffp-contract=fast
ifneq ($(REFERENCE),)
SEQLAB_CFLAGS += -DSEQLAB_REFERENCE
endif
ifneq ($(SAN),)
SEQLAB_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifneq ($(NATIVE),)
SEQLAB_CFLAGS += -march=native
endif
# GSL without its reference CBLAS: OpenBLAS provides the cblas_* symbols.
LIBS := -lgsl -lopenblas $(shell pkg-config --libs inih libcjson) -lm -lpthread
CHECK_LIBS := $(shell pkg-config --libs check)

LIB_SRC := $(wildcard core/*.c data/*.c rnn/*.c lstm/*.c gru/*.c transformer/*.c mingru/*.c)
CLI_SRC := $(wildcard experiments/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_UTIL := tests/testutil.c

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIBSEQLAB := $(BUILD)/libseqlab.a

.PHONY: all check check-float check-double check-san check-crash check-recipes check-reference check-sources \
        check-browser tests data quick bench bench-compare help clean \
        fuzz fuzz-build fuzz-regress valgrind
all: $(if $(REFERENCE),seqlab-ref,seqlab)

ifneq ($(REFERENCE),)
# the reference build: ./seqlab-ref beside the fast ./seqlab (always copied:
# the float and double reference builds share the name)
.PHONY: seqlab-ref
seqlab-ref: $(BUILD)/seqlab
	cp $(BUILD)/seqlab $@
seqlab:
	$(MAKE) REAL=float SAN= REFERENCE= seqlab
else ifeq ($(REAL)$(SAN),float)
seqlab: $(CLI_OBJ) $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBSEQLAB) $(LIBS)
else
seqlab:
	$(MAKE) REAL=float SAN= seqlab
endif

$(BUILD)/seqlab: $(CLI_OBJ) $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBSEQLAB) $(LIBS)

$(LIBSEQLAB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SEQLAB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/testutil.o $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# test_plot and test_findings also link the plot and report code of the command (not main.o)
PLOT_OBJ := $(BUILD)/experiments/plot.o $(BUILD)/experiments/plot_data.o $(BUILD)/experiments/report.o \
            $(BUILD)/experiments/plot_gnuplot.o $(BUILD)/experiments/plot_average.o \
            $(BUILD)/experiments/plot_curves.o $(BUILD)/experiments/plot_figures.o \
            $(BUILD)/experiments/plot_attention.o $(BUILD)/experiments/plot_translation.o \
            $(BUILD)/experiments/report_findings.o $(BUILD)/experiments/report_explorer.o \
            $(BUILD)/experiments/report_curves.o \
            $(BUILD)/experiments/findings.o \
            $(BUILD)/experiments/plot_scaling_laws.o $(BUILD)/experiments/scaling_laws.o \
            $(BUILD)/experiments/fit.o $(BUILD)/experiments/findings_scaling.o \
            $(BUILD)/experiments/findings_tasks.o
$(BUILD)/tests/test_plot: $(BUILD)/tests/test_plot.o $(BUILD)/tests/testutil.o $(PLOT_OBJ) $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)
# test_findings also reads the shipped experiment files (runner.c) and measures
# "Man bites dog" on checkpoints (attention_cmd.c, which hands encoder-decoder
# checkpoints to attention_encdec.c)
$(BUILD)/tests/test_findings: $(BUILD)/tests/test_findings.o $(BUILD)/tests/testutil.o $(PLOT_OBJ) \
        $(BUILD)/experiments/runner.o $(BUILD)/experiments/attention_cmd.o $(BUILD)/experiments/attention_encdec.o \
        $(BUILD)/experiments/options.o $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# test_fit tests the scaling-law fits of the command (experiments/fit.c)
$(BUILD)/tests/test_fit: $(BUILD)/tests/test_fit.o $(BUILD)/tests/testutil.o $(BUILD)/experiments/fit.o $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# test_scaling_laws: the analyses behind the scaling figures, and the figures
$(BUILD)/tests/test_scaling_laws: $(BUILD)/tests/test_scaling_laws.o $(BUILD)/tests/testutil.o $(PLOT_OBJ) \
                                  $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# the fuzz corpus replay also reads experiment files (experiments/runner.c)
$(BUILD)/tests/test_fuzz_corpus: $(BUILD)/tests/test_fuzz_corpus.o $(BUILD)/experiments/runner.o \
                                 $(BUILD)/tests/testutil.o $(LIBSEQLAB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

tests: $(TEST_BIN) $(BUILD)/seqlab

# Run every suite of this build; print Check's summaries; fail if any fails.
run-tests: tests
	@fail=0; for t in $(TEST_BIN); do \
	  echo "== $$t"; SEQLAB=$(CURDIR)/$(BUILD)/seqlab $$t || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "FAILED: $(BUILD)"; exit 1; fi

check-float:
	$(MAKE) REAL=float SAN= run-tests
check-double:
	$(MAKE) REAL=double SAN= run-tests
check-san:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) REAL=float SAN=1 run-tests

# the report page of the fixture experiment in headless Chromium: every
# image and link loads, no JavaScript error, the attention explorer shows
# the weights of its JSON (skipped, saying so, without chromium)
check-browser: seqlab
	SEQLAB=$(CURDIR)/seqlab sh tests/report_chromium.sh

# kill -9 at chosen and random instants, resume, compare (tests/crash_test.sh)
CRASH_SECONDS ?= 20
check-crash: seqlab
	tests/crash_test.sh ./seqlab $(CRASH_SECONDS)

# the README's Slurm and GNU parallel recipes, run for real (the Slurm part
# needs root: it starts a one-node cluster; .ci/run runs this)
check-recipes: seqlab
	tests/recipes_test.sh ./seqlab

check: seqlab
	$(MAKE) check-float
	$(MAKE) check-crash
	$(MAKE) check-double
	$(MAKE) check-san
	$(MAKE) check-reference
	$(MAKE) check-sources
	$(MAKE) check-browser
	@echo "make check: all builds passed"

# the reference build (plain loops only) reaches the fast build's losses
check-reference: seqlab
	$(MAKE) REFERENCE=1 SAN= REAL=float seqlab-ref
	sh tests/check_reference_build.sh ./seqlab ./seqlab-ref
# every function the READMEs' equation-to-code maps name exists; the folders
# keep to their layers and only the registry names a model kind
check-sources:
	sh tests/check_readme_maps.sh
	sh tests/check_layers.sh

data: data/kjv.txt data/kjv_testament.tsv data/kjv_section.tsv data/kjv-es.tsv
data/kjv-es.tsv: data/kjv_es.sh
	sh data/kjv_es.sh > $@.tmp
	mv $@.tmp $@
data/kjv.txt:
	@command -v bible >/dev/null || { echo "make data: needs Debian's bible-kjv package (apt-get install bible-kjv)"; exit 1; }
	bible -f gen1:1-rev22:21 | sed -E 's/^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ //' | grep -v '^$$' > $@.tmp
	mv $@.tmp $@
# labelled verses (classification): label<TAB>verse, by testament or by section
data/kjv_testament.tsv data/kjv_section.tsv: data/kjv_labels.awk
	@command -v bible >/dev/null || { echo "make data: needs Debian's bible-kjv package (apt-get install bible-kjv)"; exit 1; }
	bible -f gen1:1-rev22:21 | awk -v by=$(patsubst data/kjv_%.tsv,%,$@) -f data/kjv_labels.awk > $@.tmp
	mv $@.tmp $@

quick: seqlab data
	./seqlab run experiments/quick.ini

# training speed and memory of every model (w1 and the T sweep), the sgemm
# rate; bench-compare adds PyTorch's numbers (optional: skipped if absent)
bench: seqlab
	@mkdir -p runs
	./seqlab bench --suite all --csv runs/bench.csv
bench-compare: seqlab
	@mkdir -p runs
	./seqlab bench --suite all --compare --csv runs/bench-compare.csv

# ---- fuzzing: libFuzzer harnesses (fuzz/README.md), built with clang ------
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_TARGETS := safetensors config tokenizer shell_quote
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -MMD -MP -I. -Icore -Idata \
               -Iexperiments $(shell pkg-config --cflags $(PKGS))
FUZZ_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/experiments/runner.o
FUZZ_BIN := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/fuzz_%.o)

# each harness for FUZZ_SECONDS, one after the other: new inputs go to
# build/fuzz/corpus/NAME (the committed fuzz/corpus/NAME is only read),
# a crashing input to build/fuzz/crash-NAME-*
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t \
	    2>$(FUZZ_BUILD)/fuzz_$$t.log || { tail -n 60 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' $(FUZZ_BUILD)/fuzz_$$t.log; \
	done; echo "make fuzz: no findings"

# every committed corpus input once (what CI replays in a second)
fuzz-regress: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_BUILD)/fuzz_$$t -runs=0 fuzz/corpus/$$t 2>$(FUZZ_BUILD)/fuzz_$$t.log || \
	    { tail -n 60 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
	  echo "fuzz_$$t: $$(ls fuzz/corpus/$$t | wc -l) corpus inputs replayed"; \
	done

# ---- valgrind: the float test programs under memcheck ----------------------
# (Check runs each test in a forked child, which memcheck follows: a leak or
# a memory error there fails that test; the seqlab children that tests exec
# are traced too, the system's programs, e.g. gnuplot and sh, are not;
# Check's time limits are stretched for memcheck's ~50x slowdown)
VALGRIND := valgrind --leak-check=full --errors-for-leak-kinds=definite,possible \
            --error-exitcode=1 --trace-children=yes --trace-children-skip='/usr/*,/bin/*' \
            --suppressions=tests/valgrind.supp --quiet
valgrind:
	$(MAKE) REAL=float SAN= tests
	@fail=0; for t in $(TEST_SRC:tests/%.c=build/float/tests/%); do \
	  echo "== valgrind $$t"; \
	  CK_TIMEOUT_MULTIPLIER=60 SEQLAB_VALGRIND=1 SEQLAB=$(CURDIR)/build/float/seqlab $(VALGRIND) $$t || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "valgrind: FAILED"; exit 1; fi; echo "valgrind: clean"

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

clean:
	rm -rf build seqlab seqlab-ref

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(BUILD)/tests/testutil.d
-include $(wildcard $(FUZZ_BUILD)/*/*.d $(FUZZ_BUILD)/*/*/*.d)
