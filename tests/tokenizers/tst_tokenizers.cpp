// Tokenizers against Hugging Face `tokenizers`: every text of shared/fixtures/hf/tok_expected.json
// and tok_real_expected.json through tokenizer.json and through the classic vocabulary files,
// plus truncation, padding, pairs, added tokens, SentencePiece and the error messages.
#include "tokenizers/byte_bpe.h"
#include "tokenizers/sentencepiece_tokenizer.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/wordpiece.h"
#include "support/tiny_sentencepiece.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <QtTest/QtTest>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

using namespace fw::tokenizers;
using json = nlohmann::json;

namespace {

std::string sharedDir() {
  const QByteArray env = qgetenv("FW_SHARED_DIR");
  if (!env.isEmpty()) return env.toStdString();
  const std::string macro = FW_SHARED_DIR;
  return macro.empty() ? std::string("/work/shared") : macro;
}

bool exists(const std::string& path) { return QFileInfo::exists(QString::fromStdString(path)); }

json readJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

QList<qlonglong> toList(const std::vector<int64_t>& v) { return QList<qlonglong>(v.begin(), v.end()); }

QList<qlonglong> toList(const json& j) {
  QList<qlonglong> out;
  for (const json& x : j) out.push_back(x.get<qlonglong>());
  return out;
}

QStringList toStrings(const std::vector<std::string>& v) {
  QStringList out;
  for (const std::string& s : v) out.push_back(QString::fromStdString(s));
  return out;
}

// "auto": loadTokenizer(dir); "tokenizer.json": that file alone; "classic": vocab.txt or
// vocab.json + merges.txt, ignoring tokenizer.json.
std::unique_ptr<Tokenizer> loadWith(const std::string& dir, const QString& loader) {
  if (loader == "tokenizer.json") return loadTokenizerJson(dir + "/tokenizer.json");
  if (loader == "classic") {
    if (exists(dir + "/vocab.txt")) return WordPieceTokenizer::fromVocabTxt(dir + "/vocab.txt");
    return ByteBpeTokenizer::fromVocabMerges(dir + "/vocab.json", dir + "/merges.txt");
  }
  return loadTokenizer(dir);
}

// The fw::Error message that `f` throws, or a description of what happened instead.
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an fw::Error: ") + e.what();
  }
  return "no exception";
}

bool unicodeValid(const std::string& s) {
  return QString::fromUtf8(s.data(), static_cast<int>(s.size())).toUtf8() == QByteArray(s.data(), static_cast<int>(s.size()));
}

#define EXPECT_CONTAINS(haystack, needle)                                                        \
  QVERIFY2((haystack).find(needle) != std::string::npos,                                         \
           qPrintable(QString("'%1' does not contain '%2'")                                      \
                          .arg(QString::fromStdString(haystack), QString::fromStdString(needle))))


}  // namespace

class TstTokenizers : public QObject {
  Q_OBJECT

private slots:
  void fixtureIds_data();
  void fixtureIds();
  void loaderPicksKind_data();
  void loaderPicksKind();
  void bertNormalizerFlags_data();
  void bertNormalizerFlags();
  void bertProcessing();
  void truncationAndPadding_data();
  void truncationAndPadding();
  void truncationLeavesNoRoom();
  void addedTokensInText();
  void longWordIsUnknown();
  void invalidUtf8IsReplaced();
  void bertKeepsUnassignedCodePoints();
  void gpt2SeparatorIsNotWhitespace();
  void decodeRoundTrip();
  void randomInputKeepsInvariants();
  void mergesAsStrings();
  void robertaPostProcessing();
  void classicRobertaFolder();
  void concurrentEncode();
  void sentencePieceTinyModel();
  void errorMissingFolder();
  void errorEmptyFolder();
  void errorMalformedTokenizerJson();
  void errorUnsupportedModel();
  void errorMergeNotInVocab();
  void errorSentencePieceMissing();
  void errorSentencePieceCorrupt();
  void fuzzFindings_data();
  void fuzzFindings();
  void fuzzFindingsSentencePiece();
};

void TstTokenizers::fixtureIds_data() {
  QTest::addColumn<QString>("missing");  // a needed path that is absent: the row skips
  QTest::addColumn<QString>("dir");
  QTest::addColumn<QString>("loader");
  QTest::addColumn<QString>("text");
  QTest::addColumn<QString>("pair");
  QTest::addColumn<bool>("hasPair");
  QTest::addColumn<QList<qlonglong>>("ids");
  QTest::addColumn<QStringList>("tokens");  // empty: not checked

  const std::string hf = sharedDir() + "/fixtures/hf", real = sharedDir() + "/data/tokenizers";
  const std::string tiny = hf + "/tok_expected.json", realExpected = hf + "/tok_real_expected.json";
  auto skipRow = [](const char* name, const std::string& path) {
    QTest::newRow(name) << QString::fromStdString(path) << QString() << QString() << QString() << QString()
                        << false << QList<qlonglong>() << QStringList();
  };
  if (!exists(tiny)) {
    skipRow("tok_expected.json missing", tiny);
  } else {
    const json e = readJson(tiny);
    const auto& texts = e["texts"];
    for (const char* loader : {"tokenizer.json", "classic", "auto"}) {
      for (size_t i = 0; i < texts.size(); ++i) {
        const QString text = QString::fromStdString(texts[i].get<std::string>());
        QTest::addRow("tok_wordpiece %s text %zu", loader, i)
            << QString() << QString::fromStdString(hf + "/tok_wordpiece") << loader << text << QString() << false
            << toList(e["wordpiece"][i]) << QStringList();
        QTest::addRow("tok_bpe %s text %zu", loader, i)
            << QString() << QString::fromStdString(hf + "/tok_bpe") << loader << text << QString() << false
            << toList(e["bpe"][i]) << QStringList();
      }
      QTest::addRow("tok_wordpiece %s pair", loader)
          << QString() << QString::fromStdString(hf + "/tok_wordpiece") << loader
          << QString::fromStdString(texts[0].get<std::string>()) << QString::fromStdString(texts[1].get<std::string>())
          << true << toList(e["wordpiece_pair"]) << QStringList();
    }
  }
  if (!exists(realExpected) || !exists(real + "/gpt2") || !exists(real + "/bert-base-uncased")) {
    skipRow("real tokenizers missing", exists(realExpected) ? real : realExpected);
    return;
  }
  const json e = readJson(realExpected);
  const auto& texts = e["texts"];
  for (const char* loader : {"tokenizer.json", "classic"}) {
    for (const char* name : {"gpt2", "bert-base-uncased"}) {
      for (size_t i = 0; i < texts.size(); ++i) {
        QStringList tokens;
        for (const json& t : e[std::string(name) + "_tokens"][i]) tokens << QString::fromStdString(t.get<std::string>());
        QTest::addRow("%s %s text %zu", name, loader, i)
            << QString() << QString::fromStdString(real + "/" + name) << loader
            << QString::fromStdString(texts[i].get<std::string>()) << QString() << false << toList(e[name][i]) << tokens;
      }
    }
    QTest::addRow("bert-base-uncased %s pair", loader)
        << QString() << QString::fromStdString(real + "/bert-base-uncased") << loader
        << QString::fromStdString(texts[0].get<std::string>()) << QString::fromStdString(texts[1].get<std::string>())
        << true << toList(e["bert-base-uncased_pair"]) << QStringList();
  }
}

void TstTokenizers::fixtureIds() {
  QFETCH(QString, missing);
  if (!missing.isEmpty()) QSKIP(qPrintable("fixture not found: " + missing));
  QFETCH(QString, dir);
  QFETCH(QString, loader);
  QFETCH(QString, text);
  QFETCH(QString, pair);
  QFETCH(bool, hasPair);
  QFETCH(QList<qlonglong>, ids);
  QFETCH(QStringList, tokens);

  const auto tok = loadWith(dir.toStdString(), loader);
  const std::string pairText = pair.toStdString();
  const Encoding enc = tok->encode(text.toStdString(), hasPair ? &pairText : nullptr);
  QCOMPARE(toList(enc.ids), ids);
  if (!tokens.isEmpty()) QCOMPARE(toStrings(enc.tokens), tokens);
  QCOMPARE(enc.typeIds.size(), enc.ids.size());
  QCOMPARE(enc.attentionMask, std::vector<int64_t>(enc.ids.size(), 1));
  if (hasPair) {
    // [CLS] A [SEP] has type 0, B [SEP] type 1.
    const std::string sep = "[SEP]";
    const auto firstSep = std::find(enc.tokens.begin(), enc.tokens.end(), sep) - enc.tokens.begin();
    for (size_t k = 0; k < enc.typeIds.size(); ++k)
      QCOMPARE(enc.typeIds[k], int64_t(static_cast<long>(k) <= firstSep ? 0 : 1));
  }
}

void TstTokenizers::loaderPicksKind_data() {
  QTest::addColumn<QString>("dir");
  QTest::addColumn<QString>("kind");
  QTest::addColumn<qlonglong>("vocabSize");
  QTest::addColumn<qlonglong>("padId");
  const std::string hf = sharedDir() + "/fixtures/hf", real = sharedDir() + "/data/tokenizers";
  QTest::newRow("tok_wordpiece") << QString::fromStdString(hf + "/tok_wordpiece") << "wordpiece" << 2000LL << 0LL;
  QTest::newRow("tok_bpe") << QString::fromStdString(hf + "/tok_bpe") << "byte_bpe" << 2000LL << 0LL;
  QTest::newRow("gpt2") << QString::fromStdString(real + "/gpt2") << "byte_bpe" << 50257LL << 50256LL;
  QTest::newRow("bert-base-uncased") << QString::fromStdString(real + "/bert-base-uncased") << "wordpiece" << 30522LL
                                     << 0LL;
}

void TstTokenizers::loaderPicksKind() {
  QFETCH(QString, dir);
  QFETCH(QString, kind);
  QFETCH(qlonglong, vocabSize);
  QFETCH(qlonglong, padId);
  if (!exists(dir.toStdString())) QSKIP(qPrintable("tokenizer folder not found: " + dir));
  const auto tok = loadTokenizer(dir.toStdString());
  QCOMPARE(QString(kindName(tok->kind())), kind);
  QCOMPARE(qlonglong(tok->vocabSize()), vocabSize);
  QCOMPARE(qlonglong(tok->padId()), padId);
  QVERIFY(tok->source().find("tokenizer.json") != std::string::npos);
}

void TstTokenizers::bertNormalizerFlags_data() {
  QTest::addColumn<QString>("flags");  // BertNormalizer JSON fields
  QTest::addColumn<QString>("normalized");
  // Input: "Ünïcödé\t東京\x01X". clean_text turns \t into a space and drops \x01;
  // handle_chinese_chars pads each ideograph; strip_accents (null: as lowercase) drops accents.
  QTest::newRow("defaults") << R"("lowercase": true, "strip_accents": null)" << QString("unicode  東  京 x");
  QTest::newRow("cased keeps accents") << R"("lowercase": false, "strip_accents": null)"
                                       << QString("Ünïcödé  東  京 X");
  QTest::newRow("lowercase only") << R"("lowercase": true, "strip_accents": false)" << QString("ünïcödé  東  京 x");
  QTest::newRow("strip accents only") << R"("lowercase": false, "strip_accents": true)"
                                      << QString("Unicode  東  京 X");
  QTest::newRow("no clean text") << R"("lowercase": true, "clean_text": false)" << QString("unicode\t 東  京 \x01x");
  QTest::newRow("no chinese handling") << R"("lowercase": true, "handle_chinese_chars": false)"
                                       << QString("unicode 東京x");
}

void TstTokenizers::bertNormalizerFlags() {
  QFETCH(QString, flags);
  QFETCH(QString, normalized);
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/tokenizer.json";
  writeFile(path, R"({"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}},
                      "pre_tokenizer": {"type": "BertPreTokenizer"},
                      "normalizer": {"type": "BertNormalizer", )" + flags.toStdString() + "}}");
  const auto tok = loadTokenizerJson(path);
  const auto* wp = dynamic_cast<const WordPieceTokenizer*>(tok.get());
  QVERIFY(wp);
  QCOMPARE(QString::fromStdString(wp->normalize("Ünïcödé\t東京\x01X")), normalized);
}

void TstTokenizers::bertProcessing() {
  // tok_wordpiece with BertProcessing instead of its TemplateProcessing: the same ids.
  const std::string dir = sharedDir() + "/fixtures/hf/tok_wordpiece";
  const std::string expectedPath = sharedDir() + "/fixtures/hf/tok_expected.json";
  if (!exists(dir) || !exists(expectedPath)) QSKIP(qPrintable(QString::fromStdString("fixture not found: " + dir)));
  json j = readJson(dir + "/tokenizer.json");
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}};
  QTemporaryDir tmp;
  writeFile(tmp.path().toStdString() + "/tokenizer.json", j.dump());
  const auto tok = loadTokenizer(tmp.path().toStdString());
  const json e = readJson(expectedPath);
  for (size_t i = 0; i < e["texts"].size(); ++i)
    QCOMPARE(toList(tok->encode(e["texts"][i].get<std::string>()).ids), toList(e["wordpiece"][i]));
  const std::string b = e["texts"][1];
  const Encoding pair = tok->encode(e["texts"][0].get<std::string>(), &b);
  QCOMPARE(toList(pair.ids), toList(e["wordpiece_pair"]));
  const size_t firstLength = e["wordpiece"][0].size();
  for (size_t k = 0; k < pair.size(); ++k) QCOMPARE(pair.typeIds[k], int64_t(k < firstLength ? 0 : 1));
}

void TstTokenizers::truncationAndPadding_data() {
  QTest::addColumn<QString>("dir");
  QTest::addColumn<int>("first");   // index into tok_real_expected.json texts
  QTest::addColumn<int>("second");  // -1: no pair
  QTest::addColumn<int>("maxLength");
  QTest::addColumn<int>("padTo");
  QTest::addColumn<bool>("special");
  QTest::addColumn<QList<qlonglong>>("ids");
  QTest::addColumn<QList<qlonglong>>("typeIds");
  QTest::addColumn<int>("realTokens");  // attention mask: this many ones, then zeros

  const QString bert = QString::fromStdString(sharedDir() + "/data/tokenizers/bert-base-uncased");
  const QString gpt2 = QString::fromStdString(sharedDir() + "/data/tokenizers/gpt2");
  // Expected ids follow Hugging Face's LongestFirst rule for pairs (budget = max length minus the
  // 3 special tokens; the shorter text keeps up to half, the other gets the rest).
  QTest::newRow("bert single max 5") << bert << 0 << -1 << 5 << 0 << true
                                     << QList<qlonglong>{101, 7592, 2088, 999, 102} << QList<qlonglong>{0, 0, 0, 0, 0} << 5;
  QTest::newRow("bert single pad 12")
      << bert << 0 << -1 << 0 << 12 << true
      << QList<qlonglong>{101, 7592, 2088, 999, 2023, 2003, 1037, 3231, 1012, 102, 0, 0}
      << QList<qlonglong>(12, 0) << 10;
  QTest::newRow("bert single max 5 pad 8") << bert << 0 << -1 << 5 << 8 << true
                                           << QList<qlonglong>{101, 7592, 2088, 999, 102, 0, 0, 0}
                                           << QList<qlonglong>(8, 0) << 5;
  QTest::newRow("bert single no special max 3") << bert << 0 << -1 << 3 << 0 << false
                                                << QList<qlonglong>{7592, 2088, 999} << QList<qlonglong>{0, 0, 0} << 3;
  QTest::newRow("bert pair max 10 both cut")
      << bert << 0 << 1 << 10 << 0 << true
      << QList<qlonglong>{101, 7592, 2088, 999, 102, 2009, 1005, 1055, 16798, 102}
      << QList<qlonglong>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1} << 10;
  QTest::newRow("bert pair max 12 odd budget")
      << bert << 0 << 1 << 12 << 0 << true
      << QList<qlonglong>{101, 7592, 2088, 999, 2023, 102, 2009, 1005, 1055, 16798, 2549, 102}
      << QList<qlonglong>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1} << 12;
  QTest::newRow("bert pair max 20 only longer cut")
      << bert << 0 << 1 << 20 << 0 << true
      << QList<qlonglong>{101, 7592, 2088, 999, 2023, 2003, 1037, 3231, 1012, 102,
                          2009, 1005, 1055, 16798, 2549, 1010, 1998, 1996, 7668, 102}
      << QList<qlonglong>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1} << 20;
  QTest::newRow("bert pair longer first max 13 pad 16")
      << bert << 1 << 0 << 13 << 16 << true
      << QList<qlonglong>{101, 2009, 1005, 1055, 16798, 2549, 102, 7592, 2088, 999, 2023, 2003, 102, 0, 0, 0}
      << QList<qlonglong>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0} << 13;
  QTest::newRow("gpt2 max 3") << gpt2 << 0 << -1 << 3 << 0 << true << QList<qlonglong>{15496, 995, 0}
                              << QList<qlonglong>{0, 0, 0} << 3;
  QTest::newRow("gpt2 pad 10 with end of text")
      << gpt2 << 0 << -1 << 0 << 10 << true
      << QList<qlonglong>{15496, 995, 0, 770, 318, 257, 1332, 13, 50256, 50256} << QList<qlonglong>(10, 0) << 8;
  QTest::newRow("gpt2 pair types") << gpt2 << 0 << 0 << 6 << 0 << true
                                   << QList<qlonglong>{15496, 995, 0, 15496, 995, 0}
                                   << QList<qlonglong>{0, 0, 0, 1, 1, 1} << 6;
}

void TstTokenizers::truncationAndPadding() {
  QFETCH(QString, dir);
  QFETCH(int, first);
  QFETCH(int, second);
  QFETCH(int, maxLength);
  QFETCH(int, padTo);
  QFETCH(bool, special);
  QFETCH(QList<qlonglong>, ids);
  QFETCH(QList<qlonglong>, typeIds);
  QFETCH(int, realTokens);
  const std::string expectedPath = sharedDir() + "/fixtures/hf/tok_real_expected.json";
  if (!exists(dir.toStdString()) || !exists(expectedPath))
    QSKIP(qPrintable("fixture not found: " + dir + " or " + QString::fromStdString(expectedPath)));
  const json texts = readJson(expectedPath)["texts"];
  const auto tok = loadTokenizer(dir.toStdString());
  EncodeOptions options;
  options.addSpecialTokens = special;
  options.maxLength = static_cast<size_t>(maxLength);
  options.padTo = static_cast<size_t>(padTo);
  const std::string b = second >= 0 ? texts[second].get<std::string>() : std::string();
  const Encoding enc = tok->encode(texts[first].get<std::string>(), second >= 0 ? &b : nullptr, options);
  QCOMPARE(toList(enc.ids), ids);
  QCOMPARE(toList(enc.typeIds), typeIds);
  std::vector<int64_t> mask(enc.ids.size(), 0);
  std::fill(mask.begin(), mask.begin() + realTokens, 1);
  QCOMPARE(enc.attentionMask, mask);
  QCOMPARE(enc.tokens.size(), enc.ids.size());
  if (padTo > realTokens) QCOMPARE(enc.tokens.back(), tok->padToken());
}

void TstTokenizers::truncationLeavesNoRoom() {
  const std::string dir = sharedDir() + "/fixtures/hf/tok_wordpiece";
  if (!exists(dir)) QSKIP(qPrintable(QString::fromStdString("fixture not found: " + dir)));
  const auto tok = loadTokenizer(dir);
  QCOMPARE(tok->numSpecialTokens(false), size_t(2));
  QCOMPARE(tok->numSpecialTokens(true), size_t(3));
  EncodeOptions options;
  options.maxLength = 2;
  const std::string b = "world";
  const std::string msg = errorOf([&] { tok->encode("hello", &b, options); });
  EXPECT_CONTAINS(msg, "max length leaves no room for the special tokens");
  EXPECT_CONTAINS(msg, "expected at least 3, got 2");
  // Exactly the special tokens: both texts become empty.
  options.maxLength = 3;
  QCOMPARE(toList(tok->encode("hello", &b, options).ids), (QList<qlonglong>{2, 3, 3}));
}

void TstTokenizers::addedTokensInText() {
  const std::string gpt2 = sharedDir() + "/data/tokenizers/gpt2", bert = sharedDir() + "/data/tokenizers/bert-base-uncased";
  if (!exists(gpt2) || !exists(bert)) QSKIP("real tokenizers not found under data/tokenizers");
  for (const char* loader : {"tokenizer.json", "classic"}) {
    const auto g = loadWith(gpt2, loader);
    const Encoding e = g->encode("Hello<|endoftext|>world");
    QCOMPARE(toList(e.ids), (QList<qlonglong>{15496, 50256, *g->tokenToId("world")}));
    QCOMPARE(e.tokens[1], std::string("<|endoftext|>"));
    const auto b = loadWith(bert, loader);
    // Special tokens are matched before lowercasing; "[sep]" in lower case is plain text.
    QCOMPARE(toList(b->encode("Hello [SEP] world").ids), (QList<qlonglong>{101, 7592, 102, 2088, 102}));
    QVERIFY(b->encode("hello [sep] world").ids.size() > 5);
  }
}

void TstTokenizers::longWordIsUnknown() {
  const std::string dir = sharedDir() + "/data/tokenizers/bert-base-uncased";
  if (!exists(dir)) QSKIP(qPrintable(QString::fromStdString("tokenizer not found: " + dir)));
  const auto tok = loadTokenizer(dir);
  const std::string w100(100, 'a'), w101(101, 'a');
  const Encoding ok = tok->encode(w100);
  QVERIFY(std::find(ok.ids.begin(), ok.ids.end(), 100) == ok.ids.end());  // 100 chars: pieces
  QCOMPARE(toList(tok->encode(w101).ids), (QList<qlonglong>{101, 100, 102}));  // 101 chars: [UNK]
  // Accents are stripped after NFD, CJK ideographs stand alone, controls vanish.
  QCOMPARE(toStrings(tok->encode("Ça\x01 va 東京").tokens),
           (QStringList{"[CLS]", "ca", "va", "東", "京", "[SEP]"}));
}

void TstTokenizers::invalidUtf8IsReplaced() {
  const std::string gpt2 = sharedDir() + "/data/tokenizers/gpt2", bert = sharedDir() + "/data/tokenizers/bert-base-uncased";
  if (!exists(gpt2) || !exists(bert)) QSKIP("real tokenizers not found under data/tokenizers");
  const auto g = loadTokenizer(gpt2);
  // Each invalid byte (a lone continuation, a truncated sequence, 0xFF) becomes U+FFFD.
  const std::string bad = "caf\xC3 \x80\xFF ok \xE2\x82";
  const std::string replaced = "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD ok \xEF\xBF\xBD";
  QCOMPARE(toList(g->encode(bad).ids), toList(g->encode(replaced).ids));
  const auto b = loadTokenizer(bert);
  // BERT's clean_text drops U+FFFD.
  QCOMPARE(toList(b->encode(bad).ids), toList(b->encode("caf ok").ids));
  const std::string pairBad = "\xF0\x9F";
  QCOMPARE(b->encode("a", &pairBad).ids.size(), size_t(4));
}

// Hugging Face's BertNormalizer clean_text removes \0, U+FFFD and is_control() characters, with
// is_control = unicode_categories' is_other(): Cc, Cf, Co. Unassigned code points (Cn) stay and
// become [UNK] ([UNK] = 100); a format character (Cf, U+200B) and private use (Co) still vanish.
void TstTokenizers::bertKeepsUnassignedCodePoints() {
  const std::string dir = sharedDir() + "/data/tokenizers/bert-base-uncased";
  if (!exists(dir)) QSKIP(qPrintable(QString::fromStdString("tokenizer not found: " + dir)));
  for (const char* loader : {"tokenizer.json", "classic"}) {
    const auto tok = loadWith(dir, loader);
    QCOMPARE(toList(tok->encode("a\u0378b").ids), (QList<qlonglong>{101, 100, 102}));  // U+0378: Cn
    // U+1FAE9 (Unicode 16, after both utf8proc's and the crate's tables): a word of its own.
    QCOMPARE(toList(tok->encode("tired \U0001FAE9").ids), (QList<qlonglong>{101, 5458, 100, 102}));
    QCOMPARE(toList(tok->encode("tired\u200B\uE000 ").ids), (QList<qlonglong>{101, 5458, 102}));  // Cf, Co removed
    QCOMPARE(toList(tok->encode("tired\tdog\r\n").ids), toList(tok->encode("tired dog").ids));  // whitespace
  }
}

// Oniguruma's \s (Hugging Face's ByteLevel regex) is the White_Space property; PCRE2's \s under
// UCP also took U+180E MONGOLIAN VOWEL SEPARATOR (Cf since Unicode 6.3), which then split apart
// from the space before it.
void TstTokenizers::gpt2SeparatorIsNotWhitespace() {
  const std::string dir = sharedDir() + "/data/tokenizers/gpt2";
  if (!exists(dir)) QSKIP(qPrintable(QString::fromStdString("tokenizer not found: " + dir)));
  for (const char* loader : {"tokenizer.json", "classic"}) {
    const auto tok = loadWith(dir, loader);
    const auto* bpe = dynamic_cast<const ByteBpeTokenizer*>(tok.get());
    QVERIFY(bpe);
    QCOMPARE(toStrings(bpe->preTokenize("a \u180Eb")), (QStringList{"a", " \u180E", "b"}));
    QCOMPARE(toStrings(bpe->preTokenize("a \u180E b")), (QStringList{"a", " \u180E", " b"}));
    // Every White_Space character is still white space: runs, and a run before a word.
    QCOMPARE(toStrings(bpe->preTokenize("x\u3000\u00A0\u2028 y\t\u0085")),
             (QStringList{"x", "\u3000\u00A0\u2028", " y", "\t\u0085"}));
    QCOMPARE(toStrings(bpe->preTokenize("Hello, world!  It's 2024.\n")),
             (QStringList{"Hello", ",", " world", "!", " ", " It", "'s", " 2024", ".", "\n"}));
  }
}

void TstTokenizers::decodeRoundTrip() {
  const std::string gpt2 = sharedDir() + "/data/tokenizers/gpt2", bert = sharedDir() + "/data/tokenizers/bert-base-uncased";
  if (!exists(gpt2) || !exists(bert)) QSKIP("real tokenizers not found under data/tokenizers");
  const auto g = loadTokenizer(gpt2);
  const std::string text = "It's 2024, and the café's naïve résumé cost $5.\n  Tabs\tand 東京 🚀";
  QCOMPARE(g->decode(g->encode(text).ids), text);
  const auto b = loadTokenizer(bert);
  QCOMPARE(b->decode(b->encode("Hello world! This is a test.").ids), std::string("hello world! this is a test."));
  QCOMPARE(b->decode(b->encode("unbelievably").ids, false), std::string("[CLS] unbelievably [SEP]"));
}

void TstTokenizers::randomInputKeepsInvariants() {
  // Random bytes, broken UTF-8, special-token fragments and long runs: never a crash, and the
  // encoding's arrays always agree and respect truncation and padding.
  std::vector<std::unique_ptr<Tokenizer>> toks;
  for (const std::string& dir : {sharedDir() + "/data/tokenizers/gpt2", sharedDir() + "/data/tokenizers/bert-base-uncased",
                                 sharedDir() + "/fixtures/hf/tok_bpe", sharedDir() + "/fixtures/hf/tok_wordpiece"})
    if (exists(dir)) toks.push_back(loadTokenizer(dir));
  QTemporaryDir tmp;
  writeFile(tmp.path().toStdString() + "/tokenizer.model", fw::test::tinySentencePieceModel());
  toks.push_back(loadTokenizer(tmp.path().toStdString()));
  const std::vector<std::string> atoms = {"a", "Z", " ", "  ", "\t", "\n", "\r\n", "'s", "'ll", "7", "2024", ".", "!?",
                                          "\xC3\xA9", "e\xCC\x81", "\xE6\x9D\xB1", "\xF0\x9F\x9A\x80", "\xE2\x80\xA8",
                                          "\xC3", "\xFF", "\x80", "\xF0\x9F", std::string(1, '\0'), "\x7F", "[SEP]", "[CLS", "<|endoftext|>",
                                          "<|endoftext", "##", "\xE2\x96\x81", "hello", "world"};
  std::mt19937 rng(2024);
  for (int round = 0; round < 400; ++round) {
    std::string a, b;
    const int na = static_cast<int>(rng() % 24), nb = static_cast<int>(rng() % 24);
    for (int k = 0; k < na; ++k) a += atoms[rng() % atoms.size()];
    for (int k = 0; k < nb; ++k) b += rng() % 4 == 0 ? std::string(1, static_cast<char>(rng() & 0xFF)) : atoms[rng() % atoms.size()];
    if (round % 50 == 0) a += std::string(300, 'x');  // longer than max_input_chars_per_word
    EncodeOptions options;
    options.maxLength = rng() % 3 == 0 ? 5 + rng() % 20 : 0;
    options.padTo = rng() % 2 == 0 ? rng() % 40 : 0;
    for (const auto& tok : toks) {
      const bool pair = round % 2 == 1;
      const Encoding e = tok->encode(a, pair ? &b : nullptr, options);
      QCOMPARE(e.typeIds.size(), e.ids.size());
      QCOMPARE(e.attentionMask.size(), e.ids.size());
      QCOMPARE(e.tokens.size(), e.ids.size());
      if (options.maxLength > 0) QVERIFY(e.ids.size() <= std::max(options.maxLength, options.padTo));
      if (options.padTo > 0) QVERIFY(e.ids.size() >= options.padTo);
      for (size_t k = 0; k < e.ids.size(); ++k) {
        QVERIFY(e.ids[k] >= 0 && static_cast<size_t>(e.ids[k]) < tok->vocabSize());
        QVERIFY(e.typeIds[k] == 0 || e.typeIds[k] == 1);
      }
      QVERIFY(unicodeValid(tok->decode(e.ids)));
    }
  }
}

void TstTokenizers::mergesAsStrings() {
  // tok_bpe stores merges as ["a", "b"] pairs; older files store "a b" strings.
  const std::string dir = sharedDir() + "/fixtures/hf/tok_bpe";
  const std::string expectedPath = sharedDir() + "/fixtures/hf/tok_expected.json";
  if (!exists(dir) || !exists(expectedPath)) QSKIP(qPrintable(QString::fromStdString("fixture not found: " + dir)));
  json j = readJson(dir + "/tokenizer.json");
  QVERIFY(j["model"]["merges"][0].is_array());
  for (json& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/tokenizer.json";
  writeFile(path, j.dump());
  const auto tok = loadTokenizer(tmp.path().toStdString());
  const json e = readJson(expectedPath);
  for (size_t i = 0; i < e["texts"].size(); ++i)
    QCOMPARE(toList(tok->encode(e["texts"][i].get<std::string>()).ids), toList(e["bpe"][i]));
}

void TstTokenizers::robertaPostProcessing() {
  const std::string dir = sharedDir() + "/fixtures/hf/tok_bpe";
  const std::string expectedPath = sharedDir() + "/fixtures/hf/tok_expected.json";
  if (!exists(dir) || !exists(expectedPath)) QSKIP(qPrintable(QString::fromStdString("fixture not found: " + dir)));
  const json e = readJson(expectedPath);
  const std::string a = e["texts"][0], b = e["texts"][3];
  const QList<qlonglong> idsA = toList(e["bpe"][0]), idsB = toList(e["bpe"][3]);
  json j = readJson(dir + "/tokenizer.json");
  j["added_tokens"].push_back({{"id", 2000}, {"content", "<s>"}, {"special", true}, {"normalized", false}});
  j["added_tokens"].push_back({{"id", 2001}, {"content", "</s>"}, {"special", true}, {"normalized", false}});
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/tokenizer.json";

  // RobertaProcessing and the equivalent TemplateProcessing give the same ids, all type 0.
  const json roberta = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2001}}, {"cls", {"<s>", 2000}},
                        {"trim_offsets", true}, {"add_prefix_space", false}};
  const json seq = json::parse(R"({"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
             {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [2000], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [2001], "tokens": ["</s>"]}}}]})");
  for (const json& post : {roberta, seq}) {
    j["post_processor"] = post;
    writeFile(path, j.dump());
    const auto tok = loadTokenizer(tmp.path().toStdString());
    QCOMPARE(toList(tok->encode(a).ids), QList<qlonglong>{2000} + idsA + QList<qlonglong>{2001});
    const Encoding pair = tok->encode(a, &b);
    QCOMPARE(toList(pair.ids), (QList<qlonglong>{2000} + idsA + QList<qlonglong>{2001, 2001} + idsB +
                                QList<qlonglong>{2001}));
    QCOMPARE(pair.typeIds, std::vector<int64_t>(pair.ids.size(), 0));
    QCOMPARE(tok->numSpecialTokens(true), size_t(4));
    QCOMPARE(tok->decode(pair.ids), a + b);
  }
}

void TstTokenizers::classicRobertaFolder() {
  // vocab.json + merges.txt with <s> </s> <pad> <mask> and no <|endoftext|>: RoBERTa's layout.
  const std::string dir = sharedDir() + "/fixtures/hf/tok_bpe";
  const std::string expectedPath = sharedDir() + "/fixtures/hf/tok_expected.json";
  if (!exists(dir) || !exists(expectedPath)) QSKIP(qPrintable(QString::fromStdString("fixture not found: " + dir)));
  json vocab = readJson(dir + "/vocab.json");
  vocab.erase("<|endoftext|>");
  vocab["<s>"] = 2000;
  vocab["</s>"] = 2001;
  vocab["<pad>"] = 2002;
  vocab["<mask>"] = 2003;
  QTemporaryDir tmp;
  const std::string t = tmp.path().toStdString();
  writeFile(t + "/vocab.json", vocab.dump());
  std::ifstream merges(dir + "/merges.txt", std::ios::binary);
  std::stringstream s;
  s << merges.rdbuf();
  writeFile(t + "/merges.txt", s.str());
  const auto tok = loadTokenizer(t);
  QCOMPARE(QString(kindName(tok->kind())), QString("byte_bpe"));
  QCOMPARE(tok->padId(), int64_t(2002));
  QCOMPARE(tok->vocabSize(), size_t(2004));
  const json e = readJson(expectedPath);
  QCOMPARE(toList(tok->encode(e["texts"][0].get<std::string>()).ids),
           QList<qlonglong>{2000} + toList(e["bpe"][0]) + QList<qlonglong>{2001});
  // <mask> takes the space before it (lstrip), as RobertaTokenizer's does.
  const Encoding masked = tok->encode("the <mask> end");
  const auto at = std::find(masked.ids.begin(), masked.ids.end(), 2003);
  QVERIFY(at != masked.ids.end());
  QCOMPARE(masked.tokens[static_cast<size_t>(at - masked.ids.begin())], std::string(" <mask>"));
}

void TstTokenizers::concurrentEncode() {
  const std::string dir = sharedDir() + "/data/tokenizers/gpt2";
  const std::string expectedPath = sharedDir() + "/fixtures/hf/tok_real_expected.json";
  if (!exists(dir) || !exists(expectedPath)) QSKIP(qPrintable(QString::fromStdString("fixture not found: " + dir)));
  const auto tok = loadTokenizer(dir);
  const json e = readJson(expectedPath);
  std::atomic<int> mismatches{0};
  auto work = [&] {
    for (int round = 0; round < 200; ++round)
      for (size_t i = 0; i < e["texts"].size(); ++i)
        if (toList(tok->encode(e["texts"][i].get<std::string>()).ids) != toList(e["gpt2"][i])) ++mismatches;
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  QCOMPARE(mismatches.load(), 0);
}

void TstTokenizers::sentencePieceTinyModel() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString();
  writeFile(dir + "/tokenizer.model", fw::test::tinySentencePieceModel());
  const auto tok = loadTokenizer(dir);
  QCOMPARE(QString(kindName(tok->kind())), QString("sentencepiece"));
  QCOMPARE(tok->vocabSize(), size_t(21));
  QCOMPARE(tok->bosId().value_or(-1), int64_t(1));
  QCOMPARE(tok->eosId().value_or(-1), int64_t(2));
  // LLaMA adds <s> (id 1) in front; "!" is not in the vocabulary: <unk> (id 0).
  const Encoding e = tok->encode("hello world!");
  QCOMPARE(toList(e.ids), (QList<qlonglong>{1, 7, 12, 0}));
  QCOMPARE(toStrings(e.tokens), (QStringList{"<s>", "\u2581hello", "\u2581world", "<unk>"}));
  QCOMPARE(tok->decode({1, 12, 7}), std::string("world hello"));
  // Special tokens in the text are cut out whole, as LlamaTokenizer does; SentencePiece encodes
  // the text on each side (with its dummy prefix: "world" is "▁world").
  const Encoding withEos = tok->encode("hello</s>world");
  QCOMPARE(toList(withEos.ids), (QList<qlonglong>{1, 7, 2, 12}));
  QCOMPARE(toStrings(withEos.tokens), (QStringList{"<s>", "▁hello", "</s>", "▁world"}));
  QCOMPARE(toList(tok->encode("<s>hello<unk>").ids), (QList<qlonglong>{1, 1, 7, 0}));
  const std::string b = "world";
  const Encoding pair = tok->encode("hello", &b);
  QCOMPARE(toList(pair.ids), (QList<qlonglong>{1, 7, 1, 12}));
  QCOMPARE(toList(pair.typeIds), (QList<qlonglong>{0, 0, 1, 1}));
  EncodeOptions options;
  options.padTo = 6;
  QCOMPARE(toList(tok->encode("hello", nullptr, options).ids), (QList<qlonglong>{1, 7, 2, 2, 2, 2}));  // pad = </s>

  // A LLaMA folder also has a tokenizer.json converted from the SentencePiece model (Metaspace,
  // byte fallback): the loader reads tokenizer.model instead.
  writeFile(dir + "/tokenizer.json", R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {}, "merges": []},
                                         "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"}})");
  QCOMPARE(QString(kindName(loadTokenizer(dir)->kind())), QString("sentencepiece"));
  QCOMPARE(loadTokenizer(dir)->source(), dir + "/tokenizer.model");

  // tokenizer_config.json may turn on </s> at the end, as for some LLaMA fine-tunes.
  writeFile(dir + "/tokenizer_config.json", R"({"add_bos_token": true, "add_eos_token": true})");
  QCOMPARE(toList(loadTokenizer(dir)->encode("hello").ids), (QList<qlonglong>{1, 7, 2}));
}

void TstTokenizers::errorMissingFolder() {
  const std::string msg = errorOf([] { loadTokenizer("/nonexistent/tokenizer-folder"); });
  EXPECT_CONTAINS(msg, "/nonexistent/tokenizer-folder: tokenizer folder does not exist");
}

void TstTokenizers::errorEmptyFolder() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString();
  std::string msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, dir + ": no tokenizer files in folder");
  for (const char* name : {"tokenizer.json", "vocab.txt", "vocab.json + merges.txt", "tokenizer.model"})
    EXPECT_CONTAINS(msg, std::string(name));
  writeFile(dir + "/vocab.json", "{}");
  msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, "vocab.json is there but merges.txt is missing");
}

void TstTokenizers::errorMalformedTokenizerJson() {
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/tokenizer.json";
  writeFile(path, "{\n  \"model\": {\"type\": \"BPE\",\n  \"vocab\": {\"a\": 0,,}\n}");
  const std::string msg = errorOf([&] { loadTokenizer(tmp.path().toStdString()); });
  EXPECT_CONTAINS(msg, path + ":3: invalid JSON");
  try {
    loadTokenizer(tmp.path().toStdString());
  } catch (const fw::Error& e) {
    QCOMPARE(e.filePath(), path);
    QCOMPARE(e.lineNumber(), int64_t(3));
  }
}

void TstTokenizers::errorUnsupportedModel() {
  QTemporaryDir tmp;
  const std::string path = tmp.path().toStdString() + "/tokenizer.json";
  writeFile(path, R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}})");
  std::string msg = errorOf([&] { loadTokenizer(tmp.path().toStdString()); });
  EXPECT_CONTAINS(msg, path + ": field 'model.type': unsupported tokenizer model: expected WordPiece or BPE, got WordLevel");
  // A BPE model that is not byte-level (SentencePiece converted, with Metaspace) and no tokenizer.model.
  writeFile(path, R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                      "pre_tokenizer": {"type": "Metaspace", "replacement": "_"}})");
  msg = errorOf([&] { loadTokenizer(tmp.path().toStdString()); });
  EXPECT_CONTAINS(msg, path + ": field 'pre_tokenizer': BPE model without a ByteLevel pre-tokenizer is not supported");
}

void TstTokenizers::errorMergeNotInVocab() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString();
  writeFile(dir + "/vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  writeFile(dir + "/merges.txt", "#version: 0.2\na b\nab c\n");
  std::string msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, dir + "/merges.txt:3: merge uses a token that is not in the vocabulary: got c");
  writeFile(dir + "/merges.txt", "#version: 0.2\na b c\n");
  msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, dir + "/merges.txt:2: merge is not two tokens");
  // The same checks in tokenizer.json name the field.
  writeFile(dir + "/tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]},
                                          "pre_tokenizer": {"type": "ByteLevel"}})");
  msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, dir + "/tokenizer.json: field 'model.merges[0]': merged token is not in the vocabulary: got ab");
}

void TstTokenizers::errorSentencePieceMissing() {
  const std::string msg = errorOf([] { SentencePieceTokenizer::fromModelFile("/nonexistent/tokenizer.model"); });
  EXPECT_CONTAINS(msg, "/nonexistent/tokenizer.model: SentencePiece model file not found");
}

void TstTokenizers::errorSentencePieceCorrupt() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString();
  writeFile(dir + "/tokenizer.model", std::string("\x0a\xff\xff\xff\x0fnot a model", 16));
  const std::string msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, dir + "/tokenizer.model: not a valid SentencePiece model: not a ModelProto");
  // Parses (an empty message is a valid protobuf) but has no <unk>: libsentencepiece's reason.
  writeFile(dir + "/tokenizer.model", "");
  const std::string empty = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(empty, dir + "/tokenizer.model: not a valid SentencePiece model: unk is not defined");
}

// Inputs found by the libFuzzer targets in fuzz/ (docs/reliability.md): each must fail with an
// fw::Error naming the file (and the line), never escape as another exception or crash.
void TstTokenizers::fuzzFindings_data() {
  QTest::addColumn<QString>("file");          // written into an empty folder, read by loadTokenizer
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QByteArray>("besides");    // vocab.txt written beside it when not empty
  QTest::addColumn<QString>("message");
  QTest::addColumn<int>("line");              // -1: the message names no line
  // fuzz_json_file / fuzz_tokenizer_json: a number beyond double's range made nlohmann throw
  // out_of_range 406 (not a parse_error), which escaped readJsonFile uncaught.
  QTest::newRow("tokenizer.json number overflow")
      << "tokenizer.json"
      << QByteArray("{\"a\": [1, -2.5e3, 1e308, 181615, 1e400372035e3, 1e308, 181615, -9223372036854776null}")
      << QByteArray() << "invalid JSON: number overflow parsing '1e400372035'" << 1;
  // fuzz_vocab_txt: the same in tokenizer_config.json beside vocab.txt.
  QTest::newRow("tokenizer_config.json number overflow")
      << "tokenizer_config.json" << QByteArray("{\n  \"do_lower_case\": true,\n  \"model_max_length\": 1e400\n}")
      << QByteArray("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n") << "invalid JSON: number overflow parsing '1e400'" << 3;
  // fuzz_bpe_files: the same in vocab.json (merges.txt written empty).
  QTest::newRow("vocab.json number overflow")
      << "vocab.json" << QByteArray("{\"a\": 0,\n\"b\": 181e400}") << QByteArray()
      << "invalid JSON: number overflow parsing '181e400'" << 2;
  // fuzz_tokenizer_json: a vocabulary id of 4,511,111,111 made addVocab allocate a 144 GB id
  // table (out of memory); ids are now limited to kMaxTokenId (2^22 - 1).
  QTest::newRow("vocabulary id out of range")
      << "tokenizer.json"
      << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                    "\"vocab\": {\"[UNK]\": 0, \"a\": 4511111111}}, \"normalizer\": null, "
                    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}")
      << QByteArray() << "field 'model.vocab.a': token id out of range: expected 0 to 4194303, got 4511111111" << -1;
  QTest::newRow("added token id out of range")
      << "tokenizer.json"
      << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\": null, "
                    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
                    "\"added_tokens\": [{\"id\": 9223372036854775807, \"content\": \"x\"}]}")
      << QByteArray() << "field 'added_tokens[0].id': token id out of range" << -1;
  // Members of the wrong type: nlohmann's value() threw type_error, which escaped the loader.
  QTest::newRow("added token flag not a boolean")
      << "tokenizer.json"
      << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\": null, "
                    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
                    "\"added_tokens\": [{\"id\": 0, \"content\": \"[UNK]\", \"lstrip\": \"no\"}]}")
      << QByteArray() << "field 'added_tokens[0].lstrip': not a boolean: expected true or false, got \"no\"" << -1;
  QTest::newRow("model type not a string")
      << "tokenizer.json" << QByteArray("{\"model\": {\"type\": 7, \"vocab\": {}}}") << QByteArray()
      << "field 'model.type': not a string: expected a string, got 7" << -1;
  QTest::newRow("tokenizer_config.json flag not a boolean")
      << "tokenizer_config.json" << QByteArray("{\"added_tokens_decoder\": {\"0\": {\"content\": \"[PAD]\", \"special\": 1}}}")
      << QByteArray("[PAD]\n[UNK]\n") << "field 'added_tokens_decoder.0.special': not a boolean" << -1;
  // Review of the fuzzing: Sequence post-processors nested without limit recursed once per level.
  {
    QByteArray nested = "null";
    for (int i = 0; i < 9; ++i) nested = "{\"type\": \"Sequence\", \"processors\": [" + nested + "]}";
    QTest::newRow("post-processor sequences nested too deeply")
        << "tokenizer.json"
        << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\": null, "
                      "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"post_processor\": ") + nested + "}"
        << QByteArray() << "field 'post_processor': post_processor Sequences are nested too deeply: expected at most 8 levels" << -1;
  }
  QTest::newRow("post-processor piece not an object")
      << "tokenizer.json"
      << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\": null, "
                    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"post_processor\": {\"type\": "
                    "\"TemplateProcessing\", \"single\": [{\"Sequence\": 1}], \"pair\": []}}")
      << QByteArray() << "field 'post_processor.single.Sequence': template piece is not an object: got 1" << -1;
  // fuzz_tokenizer_json: a type_id of 9.2e19 was converted to int64_t by nlohmann (UBSan:
  // float outside the range of long).
  QTest::newRow("template type_id out of range")
      << "tokenizer.json"
      << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\": null, "
                    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"post_processor\": {\"type\": "
                    "\"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 92233720368547758070}}], "
                    "\"pair\": []}}")
      << QByteArray()
      << "field 'post_processor.single.Sequence.type_id': type_id is not an integer from 0 to 4294967295: got 9.223372036854776e+19"
      << -1;
  // fuzz_tokenizer_json (session 5, after 8.0 million executions): a single-sequence template
  // naming sequence B made encoding one text read B through a null pointer.
  QTest::newRow("single template names sequence B")
      << "tokenizer.json"
      << QByteArray("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\": null, "
                    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"post_processor\": {\"type\": "
                    "\"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"B\", \"type_id\": 0}}], "
                    "\"pair\": []}}")
      << QByteArray()
      << "field 'post_processor.single': the single-sequence template refers to the second sequence: expected only sequence A"
      << -1;
}

void TstTokenizers::fuzzFindings() {
  QFETCH(QString, file);
  QFETCH(QByteArray, bytes);
  QFETCH(QByteArray, besides);
  QFETCH(QString, message);
  QFETCH(int, line);
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString(), path = dir + "/" + file.toStdString();
  writeFile(path, bytes.toStdString());
  if (!besides.isEmpty()) writeFile(dir + "/vocab.txt", besides.toStdString());
  if (file == "vocab.json") writeFile(dir + "/merges.txt", "#version: 0.2\n");
  const std::string msg = errorOf([&] { loadTokenizer(dir); });
  EXPECT_CONTAINS(msg, path + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + message.toStdString());
}

void TstTokenizers::fuzzFindingsSentencePiece() {
  QTemporaryDir tmp;
  const std::string dir = tmp.path().toStdString();
  // fuzz_sentencepiece: a piece that starts with a NUL byte made libsentencepiece's trie builder
  // (darts_clone) throw a C++ exception through the plugin's C interface: std::terminate. The
  // model: pieces "<unk>" (unknown) and "\0a" (normal).
  writeFile(dir + "/tokenizer.model", std::string("\x0a\x09\x0a\x05<unk>\x18\x02\x0a\x06\x0a\x02\x00" "a\x18\x01", 19));
  EXPECT_CONTAINS(errorOf([&] { loadTokenizer(dir); }),
                  dir + "/tokenizer.model: not a valid SentencePiece model: failed to insert key: zero-length key");
  // fuzz_sentencepiece: add_eos_token of another type than boolean escaped as nlohmann's type_error.
  writeFile(dir + "/tokenizer.model", fw::test::tinySentencePieceModel());
  writeFile(dir + "/tokenizer_config.json", R"({"add_bos_token": true, "add_eos_token": "yes"})");
  EXPECT_CONTAINS(errorOf([&] { loadTokenizer(dir); }),
                  dir + "/tokenizer_config.json: field 'add_eos_token': not a boolean: expected true or false, got \"yes\"");
}

QTEST_APPLESS_MAIN(TstTokenizers)
#include "tst_tokenizers.moc"
