#include "llama_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vendor/llama.h"

// Every llama.cpp function used, looked up once.
#define LLAMA_FUNCTIONS(X)                \
    X(llama_backend_init)                 \
    X(llama_log_set)                      \
    X(llama_model_default_params)         \
    X(llama_context_default_params)       \
    X(llama_sampler_chain_default_params) \
    X(llama_model_load_from_file)         \
    X(llama_model_free)                   \
    X(llama_init_from_model)              \
    X(llama_free)                         \
    X(llama_n_ctx)                        \
    X(llama_get_memory)                   \
    X(llama_model_get_vocab)              \
    X(llama_model_chat_template)          \
    X(llama_chat_apply_template)          \
    X(llama_tokenize)                     \
    X(llama_token_to_piece)               \
    X(llama_vocab_is_eog)                 \
    X(llama_batch_init)                   \
    X(llama_batch_free)                   \
    X(llama_decode)                       \
    X(llama_memory_seq_rm)                \
    X(llama_n_ctx_seq)                    \
    X(llama_model_size)                   \
    X(llama_state_get_size)               \
    X(llama_sampler_init_penalties)       \
    X(llama_sampler_init_grammar)         \
    X(llama_vocab_n_tokens)               \
    X(llama_get_logits_ith)               \
    X(llama_sampler_chain_init)           \
    X(llama_sampler_chain_add)            \
    X(llama_sampler_init_greedy)          \
    X(llama_sampler_init_dist)            \
    X(llama_sampler_init_top_k)           \
    X(llama_sampler_init_top_p)           \
    X(llama_sampler_init_temp)            \
    X(llama_sampler_sample)               \
    X(llama_sampler_free)

#define DECLARE(name) static __typeof__(&name) p_##name;
LLAMA_FUNCTIONS(DECLARE)

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;
static char failure[1024];

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level, (void)text, (void)user;  // llama.cpp's progress lines would land in the host's terminal
}

const char *aiq_llama_load(const char *library_path) {
    pthread_mutex_lock(&load_lock);
    if (!loaded) {
        // ggml's OpenMP threads otherwise spin between operations: beside any other work on the machine they take
        // its cores (10 rows took 17-26 s spinning, 5-6 s passive, on a busy 2-core machine). A host that set its
        // own policy keeps it; libgomp reads it when ggml's library loads it, just below.
        setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        void *library = dlopen(library_path, RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) {
            snprintf(failure, sizeof failure, "could not open %s: %s", library_path, dlerror());
        } else {
            const char *missing = NULL;
#define LOOKUP(name)                                          \
    if ((p_##name = (__typeof__(&name))dlsym(library, #name)) == NULL && missing == NULL) missing = #name;
            LLAMA_FUNCTIONS(LOOKUP)
            if (missing != NULL) {
                snprintf(failure, sizeof failure, "%s has no %s: it is not the llama.cpp version aiquery was built for", library_path, missing);
            } else {
                p_llama_log_set(quiet, NULL);
                p_llama_backend_init();
                failure[0] = 0;
            }
        }
        loaded = 1;  // the outcome stands for the process: a second dlopen of a broken library would not help
    }
    pthread_mutex_unlock(&load_lock);
    return failure[0] ? failure : NULL;
}

/// One sequence of the shared context: its prompt being fed, then its answer being sampled.
typedef struct {
    int active;
    int done;  // ended: no more steps until the next start
    struct llama_sampler *sampler;
    llama_token *prompt;
    int32_t prompt_count, fed;
    llama_pos position;
    llama_token last;
    int32_t generated, max_tokens;
    int32_t output;  // the index of its logits in the batch just decoded, or -1
} aiq_slot;

struct aiq_llm {
    struct llama_model *model;
    struct llama_context *context;
    const struct llama_vocab *vocab;
    struct llama_batch batch;
    int32_t batch_capacity;
    int32_t sequences;
    int32_t sequence_tokens;
    aiq_slot *slots;
};

aiq_llm *aiq_llm_open(const char *gguf_path, int32_t sequence_tokens, int32_t sequences, int32_t threads, char *error, size_t error_size) {
    struct llama_model_params model_params = p_llama_model_default_params();
    model_params.n_gpu_layers = 0;
    struct llama_model *model = p_llama_model_load_from_file(gguf_path, model_params);
    if (model == NULL) {
        snprintf(error, error_size, "llama.cpp could not load %s (not a GGUF model, or a kind this llama.cpp does not know)", gguf_path);
        return NULL;
    }
    struct llama_context_params params = p_llama_context_default_params();
    // Each sequence has its own part of the KV cache (kv_unified off): rows share no prefix worth sharing, and
    // one long row cannot starve the others.
    params.n_ctx = (uint32_t)(sequence_tokens * sequences);
    params.n_seq_max = (uint32_t)sequences;
    params.kv_unified = false;
    params.n_batch = 512;
    params.n_ubatch = 512;
    // One row of logits per sequence per step is all aiq_llm_step reads: the buffers are sized by this, and at
    // Gemma's 262,144-token vocabulary the default (n_batch rows) would take half a gigabyte.
    params.n_outputs_max = (uint32_t)sequences;
    params.n_threads = threads;
    params.n_threads_batch = threads;
    params.no_perf = true;
    // Flash attention rounds differently: off, greedy answers are token for token those of llama.cpp's defaults
    // (llama-cpp-python's), and the same whether a row is decoded alone or beside others (SmolLM2; see README).
    params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *context = p_llama_init_from_model(model, params);
    if (context == NULL) {
        p_llama_model_free(model);
        snprintf(error, error_size, "llama.cpp could not make a context of %d sequences × %d tokens for %s", sequences, sequence_tokens, gguf_path);
        return NULL;
    }
    aiq_llm *llm = calloc(1, sizeof *llm);
    llm->model = model;
    llm->context = context;
    llm->vocab = p_llama_model_get_vocab(model);
    llm->batch_capacity = (int32_t)params.n_batch;
    llm->batch = p_llama_batch_init(llm->batch_capacity, 0, 1);
    llm->sequences = sequences;
    llm->sequence_tokens = (int32_t)p_llama_n_ctx_seq(context);
    llm->slots = calloc((size_t)sequences, sizeof *llm->slots);
    return llm;
}

void aiq_llm_close(aiq_llm *llm) {
    if (llm == NULL) return;
    for (int32_t slot = 0; slot < llm->sequences; slot++) aiq_llm_stop(llm, slot);
    free(llm->slots);
    p_llama_batch_free(llm->batch);
    p_llama_free(llm->context);
    p_llama_model_free(llm->model);
    free(llm);
}

int32_t aiq_llm_sequences(const aiq_llm *llm) { return llm->sequences; }
int32_t aiq_llm_sequence_tokens(const aiq_llm *llm) { return llm->sequence_tokens; }
uint64_t aiq_llm_bytes(const aiq_llm *llm) {
    return p_llama_model_size(llm->model) + (uint64_t)p_llama_state_get_size(llm->context);
}

int32_t aiq_llm_chat_prompt(const aiq_llm *llm, const char *const *roles, const char *const *contents, size_t count, char *out,
                            int32_t size) {
    const char *template = p_llama_model_chat_template(llm->model, NULL);
    if (template == NULL) return -1;
    struct llama_chat_message *messages = calloc(count ? count : 1, sizeof *messages);
    for (size_t i = 0; i < count; i++) messages[i] = (struct llama_chat_message){roles[i], contents[i]};
    int32_t written = p_llama_chat_apply_template(template, messages, count, true, out, size);
    free(messages);
    return written;
}

int32_t aiq_llm_tokenize(const aiq_llm *llm, const char *text, int32_t length, int32_t special, int32_t *tokens, int32_t capacity) {
    return p_llama_tokenize(llm->vocab, text, length, tokens, capacity, special != 0, true);
}

int32_t aiq_llm_start(aiq_llm *llm, int32_t slot, const int32_t *prompt, int32_t prompt_count, aiq_llm_sampling sampling, const char *grammar,
                      char *error, size_t error_size) {
    aiq_llm_stop(llm, slot);
    if (prompt_count < 1 || prompt_count >= llm->sequence_tokens) {
        snprintf(error, error_size, "the prompt is %d tokens; this model's context holds %d per row (prompt and answer together)", prompt_count,
                 llm->sequence_tokens);
        return -1;
    }
    struct llama_sampler *sampler = p_llama_sampler_chain_init(p_llama_sampler_chain_default_params());
    if (sampling.repeat_penalty > 0 && sampling.repeat_penalty != 1) {
        p_llama_sampler_chain_add(sampler, p_llama_sampler_init_penalties(p_llama_vocab_n_tokens(llm->vocab), 64, sampling.repeat_penalty, 0, 0));
    }
    if (grammar != NULL && grammar[0]) {
        struct llama_sampler *rules = p_llama_sampler_init_grammar(llm->vocab, grammar, "root");
        if (rules == NULL) {
            p_llama_sampler_free(sampler);
            snprintf(error, error_size, "llama.cpp could not parse the grammar made for this request");
            return -1;
        }
        p_llama_sampler_chain_add(sampler, rules);
    }
    if (sampling.temperature <= 0) {
        p_llama_sampler_chain_add(sampler, p_llama_sampler_init_greedy());
    } else {
        if (sampling.top_k > 0) p_llama_sampler_chain_add(sampler, p_llama_sampler_init_top_k(sampling.top_k));
        if (sampling.top_p < 1) p_llama_sampler_chain_add(sampler, p_llama_sampler_init_top_p(sampling.top_p, 1));
        p_llama_sampler_chain_add(sampler, p_llama_sampler_init_temp(sampling.temperature));
        p_llama_sampler_chain_add(sampler, p_llama_sampler_init_dist(sampling.seed));
    }
    aiq_slot *s = &llm->slots[slot];
    s->prompt = malloc((size_t)prompt_count * sizeof *s->prompt);
    memcpy(s->prompt, prompt, (size_t)prompt_count * sizeof *s->prompt);
    s->prompt_count = prompt_count;
    s->fed = 0;
    s->position = 0;
    s->generated = 0;
    s->max_tokens = sampling.max_tokens > 0 ? sampling.max_tokens : 1;
    s->sampler = sampler;
    s->output = -1;
    s->active = 1;
    p_llama_memory_seq_rm(p_llama_get_memory(llm->context), slot, -1, -1);
    return 0;
}

void aiq_llm_stop(aiq_llm *llm, int32_t slot) {
    aiq_slot *s = &llm->slots[slot];
    if (!s->active) return;
    p_llama_sampler_free(s->sampler);
    free(s->prompt);
    memset(s, 0, sizeof *s);
    p_llama_memory_seq_rm(p_llama_get_memory(llm->context), slot, -1, -1);
}

static void add(struct llama_batch *batch, llama_token token, llama_pos position, llama_seq_id sequence, int8_t output) {
    int32_t i = batch->n_tokens++;
    batch->token[i] = token;
    batch->pos[i] = position;
    batch->n_seq_id[i] = 1;
    batch->seq_id[i][0] = sequence;
    batch->logits[i] = output;
}

int32_t aiq_llm_step(aiq_llm *llm, aiq_llm_event *events, char *error, size_t error_size) {
    struct llama_batch *batch = &llm->batch;
    batch->n_tokens = 0;
    // Answers first (a token each), then prompts in what room is left, so a long prompt delays answers by one
    // step at most.
    for (int32_t slot = 0; slot < llm->sequences; slot++) {
        aiq_slot *s = &llm->slots[slot];
        s->output = -1;
        if (!s->active || s->done || s->fed < s->prompt_count) continue;
        s->output = batch->n_tokens;
        add(batch, s->last, s->position++, slot, 1);
    }
    for (int32_t slot = 0; slot < llm->sequences && batch->n_tokens < llm->batch_capacity; slot++) {
        aiq_slot *s = &llm->slots[slot];
        if (!s->active || s->done || s->fed >= s->prompt_count) continue;
        while (s->fed < s->prompt_count && batch->n_tokens < llm->batch_capacity) {
            int last = s->fed + 1 == s->prompt_count;
            if (last) s->output = batch->n_tokens;
            add(batch, s->prompt[s->fed++], s->position++, slot, (int8_t)last);
        }
    }
    if (batch->n_tokens == 0) return 0;
    int32_t status = p_llama_decode(llm->context, *batch);
    if (status != 0) {
        snprintf(error, error_size, "llama.cpp could not decode a batch of %d tokens (status %d)", batch->n_tokens, status);
        return -1;
    }
    int32_t count = 0;
    for (int32_t slot = 0; slot < llm->sequences; slot++) {
        aiq_slot *s = &llm->slots[slot];
        if (!s->active || s->output < 0) continue;
        aiq_llm_event *event = &events[count++];
        event->slot = slot;
        event->length = 0;
        llama_token token = p_llama_sampler_sample(s->sampler, llm->context, s->output);
        event->token = token;
        if (p_llama_vocab_is_eog(llm->vocab, token)) {
            event->end = AIQ_LLM_END_OF_ANSWER;
            s->done = 1;
            continue;
        }
        int32_t length = p_llama_token_to_piece(llm->vocab, token, event->piece, sizeof event->piece, 0, false);
        event->length = length > 0 ? length : 0;
        s->last = token;
        s->generated++;
        event->end = s->generated >= s->max_tokens          ? AIQ_LLM_END_MAX_TOKENS
                     : s->position + 1 >= llm->sequence_tokens ? AIQ_LLM_END_CONTEXT
                                                               : AIQ_LLM_GOING;
        s->done = event->end != AIQ_LLM_GOING;
    }
    return count;
}
