// Torch first (presets and shapes come from core/models), then Qt.
#include "adapters/adapter_config.h"
#include "data/glue.h"
#include "models/architectures.h"
#include "models/presets.h"
#include "train/experiment.h"
#include "util/error.h"
#include "util/files.h"
#include "io/atomic_file.h"
#include "util/runtime.h"

#include "experiment_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <filesystem>

namespace fw::gui {

using nlohmann::json;

namespace {

enum Column { kUse, kName, kType, kSize, kScale, kLr, kTrainable, kColumns };

QString q(const std::string& s) { return QString::fromStdString(s); }

QSpinBox* intBox(int min, int max) {
  auto* b = new QSpinBox;
  b->setRange(min, max);
  b->setGroupSeparatorShown(true);
  return b;
}

QString number(int64_t v) { return QLocale().toString(qlonglong(v)); }

// The shortest text that reads back as the same double (1e-06, 0.003, 150).
QString exact(double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); }

std::vector<std::string> splitNames(const QString& text) {
  std::vector<std::string> out;
  for (const auto& t : text.split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) out.push_back(t.toStdString());
  return out;
}

QString joinNames(const std::vector<std::string>& names) {
  QStringList out;
  for (const auto& n : names) out << q(n);
  return out.join(' ');
}

bool adapterType(const std::string& type) { return type == "fourierft" || type == "lora"; }

// Selects the item whose data is `value`, adding it (shown as itself) when the list lacks it.
void selectOrAdd(QComboBox* box, const QString& value) {
  int i = box->findData(value);
  if (i < 0) {
    box->addItem(value, value);
    i = box->count() - 1;
  }
  box->setCurrentIndex(i);
}

}  // namespace

ExperimentForm::ExperimentForm(QWidget* parent) : QWidget(parent) { build(); }

void ExperimentForm::build() {
  auto* layout = new QVBoxLayout(this);

  auto* general = new QGroupBox(tr("Experiment"));
  auto* gf = new QFormLayout(general);
  name_ = new QLineEdit;
  gf->addRow(tr("Name"), name_);
  model_ = new QComboBox;
  for (const auto& p : models::presets()) model_->addItem(q(p.name), q(p.name)), model_->setItemData(model_->count() - 1, q(p.description), Qt::ToolTipRole);
  model_->addItem(tr("Checkpoint folder…"), QString());
  gf->addRow(tr("Model"), model_);
  auto* ckptRow = new QHBoxLayout;
  checkpoint_ = new QLineEdit;
  checkpoint_->setPlaceholderText(tr("Hugging Face folder: config.json + model.safetensors"));
  auto* browse = new QPushButton(tr("Open checkpoint folder…"));
  ckptRow->addWidget(checkpoint_);
  ckptRow->addWidget(browse);
  gf->addRow(tr("Checkpoint"), ckptRow);
  tokenizer_ = new QLineEdit;
  tokenizer_->setPlaceholderText(tr("tokenizer folder (text data); default: the checkpoint"));
  gf->addRow(tr("Tokenizer"), tokenizer_);
  layout->addWidget(general);

  auto* data = new QGroupBox(tr("Dataset"));
  auto* df = new QFormLayout(data);
  datasetKind_ = new QComboBox;
  for (const char* k : {"glue", "table", "instructions", "idx_images", "image_folder"}) datasetKind_->addItem(k, k);
  datasetKind_->setItemText(0, tr("GLUE task"));
  datasetKind_->setItemText(1, tr("CSV / TSV / JSONL file"));
  datasetKind_->setItemText(2, tr("Instructions (Alpaca JSON)"));
  datasetKind_->setItemText(3, tr("IDX images (Fashion-MNIST)"));
  datasetKind_->setItemText(4, tr("Image folder (one folder per class)"));
  df->addRow(tr("Kind"), datasetKind_);
  glueTask_ = new QComboBox;
  glueTask_->setObjectName("glueTask");
  for (const auto& t : data::glueTaskNames()) glueTask_->addItem(q(t), q(t));  // canonical names, MNLI-m/-mm too
  df->addRow(tr("GLUE task"), glueTask_);
  auto pathRow = [&](QLineEdit*& edit, const QString& label) {
    auto* row = new QHBoxLayout;
    edit = new QLineEdit;
    auto* file = new QPushButton(tr("File…"));
    auto* folder = new QPushButton(tr("Folder…"));
    row->addWidget(edit);
    row->addWidget(file);
    row->addWidget(folder);
    QLineEdit* target = edit;
    connect(file, &QPushButton::clicked, this, [this, target] { chooseDatasetPath(target, false); });
    connect(folder, &QPushButton::clicked, this, [this, target] { chooseDatasetPath(target, true); });
    df->addRow(label, row);
  };
  pathRow(trainPath_, tr("Training data"));
  pathRow(evalPath_, tr("Evaluation data"));
  textColumn_ = new QLineEdit;
  pairColumn_ = new QLineEdit;
  labelColumn_ = new QLineEdit;
  textColumn_->setPlaceholderText(tr("column with the text"));
  pairColumn_->setPlaceholderText(tr("optional second text (pairs)"));
  labelColumn_->setPlaceholderText(tr("column with the label"));
  auto* columns = new QHBoxLayout;
  columns->addWidget(textColumn_);
  columns->addWidget(pairColumn_);
  columns->addWidget(labelColumn_);
  df->addRow(tr("Columns"), columns);
  classes_ = new QLineEdit;
  classes_->setPlaceholderText(tr("images: classes to keep, e.g. 5 6 7 8 9 (empty: all)"));
  df->addRow(tr("Classes"), classes_);
  trainLimit_ = intBox(0, 100000000);
  trainLimit_->setSpecialValueText(tr("all"));
  df->addRow(tr("Training examples"), trainLimit_);
  maxLength_ = intBox(1, 1 << 20);
  df->addRow(tr("Max length (tokens)"), maxLength_);
  badRows_ = new QComboBox;
  badRows_->addItem(tr("stop at the first one, naming it"), "fail");
  badRows_->addItem(tr("skip them (counted in the run)"), "skip");
  df->addRow(tr("Bad rows or images"), badRows_);
  layout->addWidget(data);

  auto* methods = new QGroupBox(tr("Methods, side by side"));
  auto* mv = new QVBoxLayout(methods);
  auto* tf = new QFormLayout;
  targets_ = new QLineEdit;
  targets_->setPlaceholderText(tr("adapted modules, e.g. query value"));
  targets_->setObjectName("targetModules");
  tf->addRow(tr("Target modules"), targets_);
  trainable_ = new QLineEdit;
  trainable_->setPlaceholderText(tr("trained in full beside the adapters, e.g. classifier"));
  tf->addRow(tr("Trained in full"), trainable_);
  mv->addLayout(tf);
  methods_ = new QTableWidget(0, kColumns);
  methods_->setHorizontalHeaderLabels({tr("Use"), tr("Name"), tr("Type"), tr("n / r"), tr("Scaling / alpha"), tr("Learning rate"), tr("Trainable")});
  methods_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  methods_->horizontalHeader()->setStretchLastSection(true);
  methods_->verticalHeader()->hide();
  mv->addWidget(methods_);
  auto* buttons = new QHBoxLayout;
  for (const char* type : {"fourierft", "lora", "full", "head-only"}) {
    auto* b = new QPushButton(tr("Add %1").arg(type));
    connect(b, &QPushButton::clicked, this, [this, type] {
      json m = {{"type", type}, {"name", type}};
      if (std::string(type) == "fourierft") m.update({{"n_frequency", 1000}, {"scaling", 150.0}, {"lr", 0.05}});
      if (std::string(type) == "lora") m.update({{"r", 8}, {"alpha", 16.0}, {"lr", 3e-3}});
      if (std::string(type) == "full") m["lr"] = 1e-4;
      addMethod(m);
      updateCounts();
    });
    buttons->addWidget(b);
  }
  auto* remove = new QPushButton(tr("Remove"));
  connect(remove, &QPushButton::clicked, this, [this] {
    methods_->removeRow(methods_->currentRow());
    updateCounts();
  });
  buttons->addWidget(remove);
  buttons->addStretch();
  mv->addLayout(buttons);
  counts_ = new QLabel;
  counts_->setWordWrap(true);
  mv->addWidget(counts_);
  layout->addWidget(methods);

  auto* training = new QGroupBox(tr("Training"));
  auto* trf = new QFormLayout(training);
  headLr_ = new QLineEdit;
  headLr_->setObjectName("headLr");
  headLr_->setValidator(new QRegularExpressionValidator(QRegularExpression("[0-9]*\\.?[0-9]*([eE][-+]?[0-9]*)?"), headLr_));
  headLr_->setPlaceholderText(tr("e.g. 0.001 or 1e-6"));
  headLr_->setText(exact(1e-3));
  trf->addRow(tr("Head learning rate"), headLr_);
  epochs_ = intBox(1, 100000);
  trf->addRow(tr("Epochs"), epochs_);
  batch_ = intBox(1, 65536);
  trf->addRow(tr("Batch size"), batch_);
  seed_ = new QLineEdit;
  seed_->setObjectName("seed");
  seed_->setValidator(new QRegularExpressionValidator(QRegularExpression("-?[0-9]{0,19}"), seed_));
  seed_->setText("0");
  trf->addRow(tr("Seed"), seed_);
  device_ = new QComboBox;
  device_->setObjectName("device");
  device_->addItem(tr("auto"), "auto");
  device_->addItem(tr("CPU"), "cpu");
  if (cudaAvailable()) device_->addItem(tr("CUDA"), "cuda");  // shown only where LibTorch has it
  trf->addRow(tr("Device"), device_);
  layout->addWidget(training);
  layout->addStretch();

  // Only the fields the chosen kind of data uses are enabled.
  auto kindChanged = [this] {
    const auto kind = datasetKind_->currentData().toString();
    const bool text = kind == "glue" || kind == "table" || kind == "instructions";
    glueTask_->setEnabled(kind == "glue");
    maxLength_->setEnabled(text);
    tokenizer_->setEnabled(text);
    classes_->setEnabled(!text);
    for (auto* c : {textColumn_, pairColumn_, labelColumn_}) c->setEnabled(kind == "table");
  };
  connect(datasetKind_, &QComboBox::currentIndexChanged, this, kindChanged);
  kindChanged();
  connect(browse, &QPushButton::clicked, this, &ExperimentForm::chooseCheckpoint);
  for (auto* w : std::initializer_list<QObject*>{model_, datasetKind_}) connect(qobject_cast<QComboBox*>(w), &QComboBox::currentIndexChanged, this, &ExperimentForm::updateCounts);
  connect(targets_, &QLineEdit::textChanged, this, &ExperimentForm::updateCounts);
  connect(checkpoint_, &QLineEdit::editingFinished, this, &ExperimentForm::updateCounts);
  connect(methods_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
    if (item->column() != kTrainable) updateCounts();
  });
}

void ExperimentForm::addMethod(const json& m) {
  const QSignalBlocker block(methods_);  // the row is complete before anyone looks at it
  const int row = methods_->rowCount();
  methods_->insertRow(row);
  const auto type = m.value("type", std::string());
  auto* use = new QTableWidgetItem;
  use->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled | Qt::ItemIsSelectable);
  use->setCheckState(Qt::Checked);
  methods_->setItem(row, kUse, use);
  methods_->setItem(row, kName, new QTableWidgetItem(q(m.value("name", type))));
  auto* typeItem = new QTableWidgetItem(q(type));
  typeItem->setFlags(typeItem->flags() & ~Qt::ItemIsEditable);
  typeItem->setData(Qt::UserRole, q(m.dump()));  // the method's other settings survive editing
  methods_->setItem(row, kType, typeItem);
  auto cell = [&](int col, const QString& text, bool editable) {
    auto* it = new QTableWidgetItem(text);
    if (!editable) it->setFlags(it->flags() & ~Qt::ItemIsEditable);
    methods_->setItem(row, col, it);
  };
  const bool fourier = type == "fourierft", lora = type == "lora";
  cell(kSize, fourier ? QString::number(m.value("n_frequency", 1000)) : lora ? QString::number(m.value("r", 8)) : "", fourier || lora);
  cell(kScale, fourier ? exact(m.value("scaling", 150.0)) : lora ? exact(m.value("alpha", 16.0)) : "", fourier || lora);
  cell(kLr, type == "head-only" ? "" : exact(m.value("lr", 0.0)), type != "head-only");
  cell(kTrainable, "", false);
}

void ExperimentForm::setExperiment(const json& experiment) {
  auto e = train::Experiment::fromJson(experiment, file_.isEmpty() ? "experiment" : file_.toStdString());  // validates
  base_ = e.toJson();
  const QSignalBlocker block(this);
  name_->setText(q(e.name));
  const int preset = model_->findData(q(e.model.preset));
  model_->setCurrentIndex(!e.model.checkpoint.empty() || preset < 0 ? model_->count() - 1 : preset);
  checkpoint_->setText(q(e.model.checkpoint));
  tokenizer_->setText(q(e.model.tokenizer));
  datasetKind_->setCurrentIndex(datasetKind_->findData(q(e.dataset.kind)));
  if (!e.dataset.task.empty()) {
    // The data layer takes aliases in any case ("sst2", "mnli_mismatched"): show the canonical
    // name. A name it does not know stays as written, so the run names the problem.
    QString task = q(e.dataset.task);
    try {
      task = q(data::glueTask(e.dataset.task).name);
    } catch (const Error&) {
    }
    selectOrAdd(glueTask_, task);
  }
  trainPath_->setText(q(e.dataset.train));
  evalPath_->setText(q(e.dataset.eval));
  QStringList classes;
  for (auto c : e.dataset.classes) classes << QString::number(c);
  classes_->setText(classes.join(' '));
  textColumn_->setText(q(e.dataset.text));
  pairColumn_->setText(q(e.dataset.text_pair));
  labelColumn_->setText(q(e.dataset.label));
  trainLimit_->setValue(int(e.dataset.train_limit));
  maxLength_->setValue(int(e.dataset.max_length));
  const int badRows = badRows_->findData(q(e.dataset.bad_rows));
  badRows_->setCurrentIndex(badRows < 0 ? 0 : badRows);
  // One list for every adapter method goes in the shared field; when they differ, each method
  // keeps its own (in its row) until the field is edited.
  unionTargets_.clear();
  std::vector<std::vector<std::string>> lists;
  for (const auto& m : e.methods) {
    if (!adapterType(m.type)) continue;
    lists.push_back(m.target_modules);
    for (const auto& t : m.target_modules)
      if (std::find(unionTargets_.begin(), unionTargets_.end(), t) == unionTargets_.end()) unionTargets_.push_back(t);
  }
  const bool shared = std::all_of(lists.begin(), lists.end(), [&](const auto& l) { return l == lists.front(); });
  if (shared) {
    loadedTargets_ = lists.empty() ? QString() : joinNames(lists.front());
    targets_->setPlaceholderText(tr("adapted modules, e.g. query value"));
    targets_->setToolTip(QString());
  } else {
    loadedTargets_.clear();
    QStringList each;
    for (const auto& m : e.methods)
      if (adapterType(m.type)) each << QString("%1: %2").arg(q(m.name), joinNames(m.target_modules));
    targets_->setPlaceholderText(tr("each method keeps its own; typing here sets them for all"));
    targets_->setToolTip(tr("Target modules per method: %1").arg(each.join("; ")));
  }
  targets_->setText(loadedTargets_);
  QStringList trainable;
  for (const auto& t : e.trainable_modules) trainable << q(t);
  trainable_->setText(trainable.join(' '));
  methods_->setRowCount(0);
  for (const auto& m : base_["methods"]) addMethod(m);
  headLr_->setText(exact(e.head_lr));
  epochs_->setValue(int(e.epochs));
  batch_->setValue(int(e.batch_size));
  seed_->setText(QString::number(qlonglong(e.seed)));
  selectOrAdd(device_, q(e.device));  // "cuda:1", or "cuda" where this build has none, stay as loaded
  updateCounts();
}

json ExperimentForm::experiment() const {
  json j = base_;
  j["name"] = name_->text().toStdString();
  const QString preset = model_->currentData().toString();
  // A pretrain stage trains the chosen preset's shape first; a checkpoint folder is pretrained
  // already, so choosing one drops the stage (the experiment would otherwise be refused).
  if (preset.isEmpty()) j["model"].erase("pretrain");
  // Another preset gets a cache folder of its own: sharing the loaded one would train it again
  // for the new shape, and the runs made with the old base could no longer be evaluated.
  const std::string loaded = base_["model"].value("preset", std::string());
  if (j["model"].contains("pretrain") && !loaded.empty() && preset.toStdString() != loaded &&
      j["model"]["pretrain"].value("cache", json()).is_string()) {
    const std::filesystem::path cache = j["model"]["pretrain"]["cache"].get<std::string>();
    std::string name = cache.filename().string();
    const auto at = name.find(loaded);
    name = at != std::string::npos ? name.replace(at, loaded.size(), preset.toStdString()) : name + "-" + preset.toStdString();
    j["model"]["pretrain"]["cache"] = (cache.parent_path() / name).string();
  }
  j["model"]["preset"] = preset.toStdString();
  j["model"]["checkpoint"] = preset.isEmpty() ? checkpoint_->text().toStdString() : "";
  j["model"]["tokenizer"] = tokenizer_->text().toStdString();
  auto& d = j["dataset"];
  d["kind"] = datasetKind_->currentData().toString().toStdString();
  d["task"] = d["kind"] == "glue" ? glueTask_->currentData().toString().toStdString() : "";
  d["train"] = trainPath_->text().toStdString();
  d["eval"] = evalPath_->text().toStdString();
  std::vector<int64_t> classes;
  for (const auto& c : classes_->text().split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) classes.push_back(c.toLongLong());
  d["classes"] = classes;
  d["text"] = textColumn_->text().toStdString();
  d["text_pair"] = pairColumn_->text().toStdString();
  d["label"] = labelColumn_->text().toStdString();
  d["train_limit"] = trainLimit_->value();
  d["max_length"] = maxLength_->value();
  d["bad_rows"] = badRows_->currentData().toString().toStdString();
  j["trainable_modules"] = splitNames(trainable_->text());
  j["methods"] = json::array();
  for (int row = 0; row < methods_->rowCount(); ++row) {
    if (methods_->item(row, kUse)->checkState() != Qt::Checked) continue;
    json m = json::parse(methods_->item(row, kType)->data(Qt::UserRole).toString().toStdString());
    const auto type = m.value("type", std::string());
    m["name"] = methods_->item(row, kName)->text().toStdString();
    if (adapterType(type)) m["target_modules"] = targetsFor(m);
    if (type == "fourierft") {
      m["n_frequency"] = methods_->item(row, kSize)->text().toLongLong();
      m["scaling"] = methods_->item(row, kScale)->text().toDouble();
    } else if (type == "lora") {
      m["r"] = methods_->item(row, kSize)->text().toLongLong();
      m["alpha"] = methods_->item(row, kScale)->text().toDouble();
    }
    if (type != "head-only") m["lr"] = methods_->item(row, kLr)->text().toDouble();
    j["methods"].push_back(m);
  }
  bool ok = false;
  const double headLr = QLocale::c().toDouble(headLr_->text().trimmed(), &ok);
  if (!ok) throw Error("not a number").file("the experiment form").field("head_lr").got("'" + headLr_->text().toStdString() + "'");
  j["head_lr"] = headLr;
  j["epochs"] = epochs_->value();
  j["batch_size"] = batch_->value();
  const qlonglong seed = seed_->text().trimmed().toLongLong(&ok);
  if (!ok) throw Error("not a whole number").file("the experiment form").field("seed").got("'" + seed_->text().toStdString() + "'");
  j["seed"] = int64_t(seed);
  j["device"] = device_->currentData().toString().toStdString();
  train::Experiment::fromJson(j, "the experiment form");  // throws fw::Error naming the field
  return j;
}

void ExperimentForm::loadFile(const QString& path) {
  auto e = train::loadExperiment(path.toStdString());
  file_ = path;
  setExperiment(e.toJson());
}

void ExperimentForm::saveFile(const QString& path) const {
  io::writeFileAtomic(path.toStdString(), experiment().dump(2) + "\n");
}

void ExperimentForm::chooseCheckpoint() {
  const auto dir = QFileDialog::getExistingDirectory(this, tr("Open checkpoint folder"), checkpoint_->text());
  if (dir.isEmpty()) return;
  checkpoint_->setText(dir);
  model_->setCurrentIndex(model_->count() - 1);
  // List the model's linear modules so targets can be chosen from them.
  try {
    auto config = readJsonFile((std::filesystem::path(dir.toStdString()) / "config.json").string());
    QStringList names;
    for (const auto& s : models::linearShapesOf(config)) {
      auto leaf = q(s.name).section('.', -1);
      if (!names.contains(leaf)) names << leaf;
    }
    targets_->setToolTip(tr("Linear modules of this model: %1").arg(names.join(", ")));
    counts_->setText(tr("Linear modules of this model: %1").arg(names.join(", ")));
  } catch (const std::exception& e) {
    counts_->setText(tr("Cannot read the checkpoint: %1").arg(q(e.what())));
  }
  updateCounts();
}

void ExperimentForm::chooseDatasetPath(QLineEdit* target, bool folder) {
  const auto path = folder ? QFileDialog::getExistingDirectory(this, tr("Choose a folder"), target->text())
                           : QFileDialog::getOpenFileName(this, tr("Choose a file"), target->text());
  if (!path.isEmpty()) target->setText(path);
}

std::vector<std::string> ExperimentForm::targetsFor(const json& method) const {
  auto field = splitNames(targets_->text());
  if (!field.empty() && targets_->text().simplified() != loadedTargets_) return field;  // edited: for all
  if (method.contains("target_modules") && method["target_modules"].is_array() && !method["target_modules"].empty())
    return method["target_modules"].get<std::vector<std::string>>();
  return field.empty() ? unionTargets_ : field;
}

json ExperimentForm::modelConfig() const {
  const QString preset = model_->currentData().toString();
  json config = preset.isEmpty()
                    ? readJsonFile((std::filesystem::path(checkpoint_->text().toStdString()) / "config.json").string())
                    : models::presetConfig(preset.toStdString());
  if (base_.contains("model") && base_["model"].contains("config"))
    for (auto& [k, v] : base_["model"]["config"].items()) config[k] = v;
  return config;
}

void ExperimentForm::updateCounts() {
  // Parameters each method would train, from the model's linear shapes and the targets.
  std::vector<models::LinearShape> shapes;
  try {
    shapes = models::linearShapesOf(modelConfig());
  } catch (const std::exception& e) {
    counts_->setText(tr("Model: %1").arg(q(e.what())));
    return;
  }
  int64_t totalLinear = 0, matched = 0;
  for (const auto& s : shapes) totalLinear += s.out * s.in;
  QStringList summary;
  const QSignalBlocker block(methods_);
  for (int row = 0; row < methods_->rowCount(); ++row) {
    if (!methods_->item(row, kType) || !methods_->item(row, kTrainable)) continue;
    const auto type = methods_->item(row, kType)->text();
    adapters::AdapterConfig matcher;
    if (adapterType(type.toStdString())) {
      try {
        matcher.target_modules.names = targetsFor(json::parse(methods_->item(row, kType)->data(Qt::UserRole).toString().toStdString()));
      } catch (const json::exception&) {
      }
    }
    int64_t count = 0, rowMatched = 0;
    for (const auto& s : shapes) {
      if (matcher.target_modules.names.empty() || !matcher.targets(s.name)) continue;
      ++rowMatched;
      if (type == "fourierft") count += std::min<int64_t>(methods_->item(row, kSize)->text().toLongLong(), s.out * s.in);
      if (type == "lora") count += methods_->item(row, kSize)->text().toLongLong() * (s.out + s.in);
    }
    matched = std::max(matched, rowMatched);
    if (type == "full") count = totalLinear;
    QString text = type == "head-only" ? tr("head only") : number(count);
    if (type == "full") text += tr(" (linear layers)");
    methods_->item(row, kTrainable)->setText(text);
    summary << QString("%1: %2").arg(methods_->item(row, kName)->text(), text);
  }
  counts_->setText(tr("%1 of %2 linear layers adapted. Trainable besides the modules trained in full: %3")
                       .arg(matched).arg(shapes.size()).arg(summary.join(" · ")));
  emit changed();
}

}  // namespace fw::gui
