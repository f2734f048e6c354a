#include "models/architectures.h"

#include "models/bert.h"
#include "models/config_reader.h"
#include "models/gpt2.h"
#include "models/llama.h"
#include "models/roberta.h"
#include "models/vit.h"
#include "util/error.h"
#include "util/runtime.h"

#include <torch/nn/init.h>

#include <algorithm>
#include <iomanip>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <sstream>

namespace fw::models {

namespace {

// The parameter counts below are exact (weights, biases, norms, embeddings and the task head):
// buildModel refuses sizes on them before allocating, so leaving out a term lets a config
// through that allocates far more (a 2^20-label head on hidden size 704 is 2.9 GB, not 8 MB).

// BERT and RoBERTa: the same encoder; BERT's pooler + classifier and RoBERTa's dense + out_proj
// have the same shapes.
double bertParameters(const BertConfig& c) {
  const double h = double(c.hidden_size), i = double(c.intermediate_size), labels = double(c.num_labels);
  const double layer = 4 * h * h + 2 * h * i + 9 * h + i;
  const double embeddings = double(c.vocab_size + c.max_position_embeddings + std::max<int64_t>(1, c.type_vocab_size) + 2) * h;
  return double(c.num_hidden_layers) * layer + embeddings + h * h + h + labels * h + labels;
}

std::vector<LinearShape> encoderShapes(const std::string& prefix, const std::string& attention, int64_t layers, int64_t h,
                                       int64_t inter) {
  std::vector<LinearShape> out;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string l = prefix + ".encoder.layer." + std::to_string(i) + ".";
    for (const char* m : {"query", "key", "value"}) out.push_back({l + attention + "." + m, h, h});
    out.push_back({l + "attention.output.dense", h, h});
    out.push_back({l + "intermediate.dense", inter, h});
    out.push_back({l + "output.dense", h, inter});
  }
  return out;
}

template <typename Model, typename Config>
std::shared_ptr<PretrainedModel> make(const Config& c, const nlohmann::json& j, const at::TensorOptions& o) {
  return std::make_shared<Model>(c, j, o);
}

}  // namespace

const std::vector<ArchitectureInfo>& architectures() {
  static const std::vector<ArchitectureInfo> table = {
      {"bert", "BertForSequenceClassification",
       [](const nlohmann::json& j, const std::string& f, const at::TensorOptions& o) {
         return make<BertForSequenceClassification>(BertConfig::fromJson(j, f), j, o);
       },
       [](const nlohmann::json& j, const std::string& f) { return bertParameters(BertConfig::fromJson(j, f)); },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = BertConfig::fromJson(j, f);
         auto v = encoderShapes("bert", "attention.self", c.num_hidden_layers, c.hidden_size, c.intermediate_size);
         v.push_back({"bert.pooler.dense", c.hidden_size, c.hidden_size});
         v.push_back({"classifier", c.num_labels, c.hidden_size});
         return v;
       },
       // Other task heads' tensors, dropped as transformers drops them: pretraining (cls), question
       // answering; a token or multiple-choice classifier has the name "classifier" and another shape.
       {R"(.*position_ids)", R"(cls\..*)", R"(qa_outputs\..*)"},
       {},
       {},
       {"bert.pooler"}},
      {"roberta", "RobertaForSequenceClassification",
       [](const nlohmann::json& j, const std::string& f, const at::TensorOptions& o) {
         return make<RobertaForSequenceClassification>(robertaConfigFromJson(j, f), j, o);
       },
       [](const nlohmann::json& j, const std::string& f) { return bertParameters(robertaConfigFromJson(j, f)); },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = robertaConfigFromJson(j, f);
         auto v = encoderShapes("roberta", "attention.self", c.num_hidden_layers, c.hidden_size, c.intermediate_size);
         v.push_back({"classifier.dense", c.hidden_size, c.hidden_size});
         v.push_back({"classifier.out_proj", c.num_labels, c.hidden_size});
         return v;
       },
       // RobertaForTokenClassification's and RobertaForMultipleChoice's one-layer classifier, and
       // question answering's qa_outputs, beside our two-layer head.
       {R"(.*position_ids)", R"(lm_head\..*)", R"((roberta\.)?pooler\..*)", R"(classifier\.(weight|bias))",
        R"(qa_outputs\..*)"},
       {},
       {},
       {}},
      {"gpt2", "GPT2LMHeadModel",
       [](const nlohmann::json& j, const std::string& f, const at::TensorOptions& o) {
         return make<GPT2LMHeadModel>(GPT2Config::fromJson(j, f), j, o);
       },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = GPT2Config::fromJson(j, f);
         const double h = double(c.n_embd), i = double(c.n_inner);
         return double(c.n_layer) * (4 * h * h + 2 * h * i + 9 * h + i) + double(c.vocab_size + c.n_positions + 2) * h +
                (c.tie_word_embeddings ? 0.0 : double(c.vocab_size) * h);
       },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = GPT2Config::fromJson(j, f);
         std::vector<LinearShape> v;
         for (int64_t i = 0; i < c.n_layer; ++i) {
           const std::string l = "transformer.h." + std::to_string(i) + ".";
           v.push_back({l + "attn.c_attn", 3 * c.n_embd, c.n_embd});
           v.push_back({l + "attn.c_proj", c.n_embd, c.n_embd});
           v.push_back({l + "mlp.c_fc", c.n_inner, c.n_embd});
           v.push_back({l + "mlp.c_proj", c.n_embd, c.n_inner});
         }
         if (!c.tie_word_embeddings) v.push_back({"lm_head", c.vocab_size, c.n_embd});
         return v;
       },
       // GPT2ForSequenceClassification's score, GPT2DoubleHeadsModel's multiple-choice head,
       // GPT2ForTokenClassification's and GPT2ForQuestionAnswering's heads.
       {R"(lm_head\.weight)", R"(.*\.attn\.(masked_)?bias)", R"(score\.weight)", R"(multiple_choice_head\..*)",
        R"(classifier\.(weight|bias))", R"(qa_outputs\..*)"},
       {},
       {},
       {}},
      {"llama", "LlamaForCausalLM",
       [](const nlohmann::json& j, const std::string& f, const at::TensorOptions& o) {
         return make<LlamaForCausalLM>(LlamaConfig::fromJson(j, f), j, o);
       },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = LlamaConfig::fromJson(j, f);
         const double h = double(c.hidden_size), qd = double(c.num_attention_heads * c.head_dim),
                      kvd = double(c.num_key_value_heads * c.head_dim), i = double(c.intermediate_size);
         const double layer = 2 * h * qd + 2 * h * kvd + 3 * h * i + 2 * h + (c.attention_bias ? qd + 2 * kvd + h : 0) +
                              (c.mlp_bias ? 2 * i + h : 0);
         return double(c.num_hidden_layers) * layer + h + double(c.vocab_size) * h * (c.tie_word_embeddings ? 1 : 2);
       },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = LlamaConfig::fromJson(j, f);
         const int64_t qd = c.num_attention_heads * c.head_dim, kvd = c.num_key_value_heads * c.head_dim;
         std::vector<LinearShape> v;
         for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
           const std::string l = "model.layers." + std::to_string(i) + ".";
           v.push_back({l + "self_attn.q_proj", qd, c.hidden_size});
           v.push_back({l + "self_attn.k_proj", kvd, c.hidden_size});
           v.push_back({l + "self_attn.v_proj", kvd, c.hidden_size});
           v.push_back({l + "self_attn.o_proj", c.hidden_size, qd});
           v.push_back({l + "mlp.gate_proj", c.intermediate_size, c.hidden_size});
           v.push_back({l + "mlp.up_proj", c.intermediate_size, c.hidden_size});
           v.push_back({l + "mlp.down_proj", c.hidden_size, c.intermediate_size});
         }
         if (!c.tie_word_embeddings) v.push_back({"lm_head", c.vocab_size, c.hidden_size});
         return v;
       },
       // LlamaForSequenceClassification's score, question answering's qa_outputs.
       {R"(.*rotary_emb\.inv_freq)", R"(lm_head\.weight)", R"(score\.weight)", R"(qa_outputs\..*)"},
       {},
       {},
       {}},
      {"vit", "ViTForImageClassification",
       [](const nlohmann::json& j, const std::string& f, const at::TensorOptions& o) {
         return make<ViTForImageClassification>(ViTConfig::fromJson(j, f), j, o);
       },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = ViTConfig::fromJson(j, f);
         const double h = double(c.hidden_size), i = double(c.intermediate_size), labels = double(c.num_labels);
         const double layer = 4 * h * h + 2 * h * i + 6 * h + i + (c.qkv_bias ? 3 * h : 0);
         return double(c.num_hidden_layers) * layer + double(c.numPatches() + 5) * h +
                double(c.num_channels * c.patch_size * c.patch_size) * h + labels * h + labels;
       },
       [](const nlohmann::json& j, const std::string& f) {
         auto c = ViTConfig::fromJson(j, f);
         auto v = encoderShapes("vit", "attention.attention", c.num_hidden_layers, c.hidden_size, c.intermediate_size);
         v.push_back({"classifier", c.num_labels, c.hidden_size});
         return v;
       },
       // ViTModel's pooler; ViTForMaskedImageModeling's mask token and decoder.
       {R"((vit\.)?pooler\..*)", R"((vit\.)?embeddings\.mask_token)", R"(decoder\..*)"},
       // transformers 5 renamed ViT's modules in memory, so PEFT adapters made with it say
       // vit.layers.N.attention.q_proj where checkpoints (and transformers 4) say
       // vit.encoder.layer.N.attention.attention.query.
       {{R"((.*)\.layers\.(\d+)\.attention\.q_proj)", "$1.encoder.layer.$2.attention.attention.query"},
        {R"((.*)\.layers\.(\d+)\.attention\.k_proj)", "$1.encoder.layer.$2.attention.attention.key"},
        {R"((.*)\.layers\.(\d+)\.attention\.v_proj)", "$1.encoder.layer.$2.attention.attention.value"}},
       {{R"((.*)\.encoder\.layer\.(\d+)\.attention\.attention\.query)", "$1.layers.$2.attention.q_proj"},
        {R"((.*)\.encoder\.layer\.(\d+)\.attention\.attention\.key)", "$1.layers.$2.attention.k_proj"},
        {R"((.*)\.encoder\.layer\.(\d+)\.attention\.attention\.value)", "$1.layers.$2.attention.v_proj"}},
       {}},
  };
  return table;
}

const ArchitectureInfo& architectureFor(const std::string& modelType, const std::string& file) {
  std::ostringstream known;
  for (const auto& a : architectures()) {
    if (a.modelType == modelType) return a;
    known << (known.tellp() > 0 ? ", " : "") << a.modelType;
  }
  throw Error("unknown model_type '" + modelType + "'").file(file).field("model_type").expected(known.str());
}

std::vector<LinearShape> linearShapesOf(const nlohmann::json& config, const std::string& file) {
  const auto modelType = ConfigReader(config, file).text("model_type");
  return architectureFor(modelType, file).linearShapes(config, file);
}

std::shared_ptr<PretrainedModel> buildModel(const nlohmann::json& config, const std::string& file,
                                            const at::TensorOptions& options) {
  if (!config.is_object()) throw Error("model config is not a JSON object").file(file);
  const auto modelType = ConfigReader(config, file).text("model_type");
  const auto& arch = architectureFor(modelType, file);
  const double params = arch.parameterCount(config, file);
  if (params > kMaxParameters) {
    std::ostringstream got;
    got << params << " parameters";
    throw Error("model too large to build").file(file).expected("at most 2e11 parameters").got(got.str())
        .hint("check hidden_size, num_hidden_layers and vocab_size in config.json");
  }
  // On the CPU, weights that cannot fit in the memory available now are refused here, with the
  // sizes, instead of the kernel killing the process halfway through allocating them.
  if (options.device().is_cpu()) {
    const double needMiB = params * double(c10::elementSize(c10::typeMetaToScalarType(options.dtype()))) / 1048576.0;
    const double haveMiB = availableMemoryMiB();
    if (haveMiB > 0 && needMiB > 0.9 * haveMiB) {
      std::ostringstream need, have;
      need << std::fixed << std::setprecision(1) << needMiB / 1024.0 << " GiB for " << std::setprecision(0) << params
           << " parameters in " << c10::toString(c10::typeMetaToScalarType(options.dtype()));
      have << std::fixed << std::setprecision(1) << 0.9 * haveMiB / 1024.0 << " GiB (90 % of the memory available now)";
      throw Error("the model does not fit in memory").file(file).expected(have.str()).got(need.str())
          .hint("choose fewer layers (num_hidden_layers), a smaller model or bf16 weights, or free memory");
    }
  }
  return arch.build(config, file, options);
}

void initWeights(PretrainedModel& model, double std) {
  at::NoGradGuard noGrad;
  for (const auto& item : model.named_modules("", false)) {
    auto* m = item.value().get();
    if (auto* lin = dynamic_cast<adapters::AdaptedLinearImpl*>(m)) {
      // ViT uses trunc_normal_ with bounds of ±2 (absolute), which N(0, 0.02) never reaches:
      // a plain normal draws from the same distribution.
      lin->baseWeight().normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = dynamic_cast<torch::nn::EmbeddingImpl*>(m)) {
      emb->weight.normal_(0.0, std);
    } else if (auto* ln = dynamic_cast<torch::nn::LayerNormImpl*>(m)) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    } else if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(m)) {
      conv->weight.normal_(0.0, std);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* rms = dynamic_cast<RMSNormImpl*>(m)) {
      rms->weight.fill_(1.0);
    } else if (auto* emb2 = dynamic_cast<ViTEmbeddingsImpl*>(m)) {
      emb2->cls_token.normal_(0.0, std);
      emb2->position_embeddings.normal_(0.0, std);
    }
  }
}

}  // namespace fw::models
