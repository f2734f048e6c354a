// Torch first (presets and shapes come from core/models), then Qt.
#include "adapters/adapter_config.h"
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
#include <QDoubleSpinBox>
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
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <filesystem>

namespace fw::gui {

using nlohmann::json;

namespace {

enum Column { kUse, kName, kType, kSize, kScale, kLr, kTrainable, kColumns };

QString q(const std::string& s) { return QString::fromStdString(s); }

QDoubleSpinBox* doubleBox(double min, double max, int decimals) {
  auto* b = new QDoubleSpinBox;
  b->setRange(min, max);
  b->setDecimals(decimals);
  return b;
}

QSpinBox* intBox(int min, int max) {
  auto* b = new QSpinBox;
  b->setRange(min, max);
  b->setGroupSeparatorShown(true);
  return b;
}

QString number(int64_t v) { return QLocale().toString(qlonglong(v)); }

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
  for (const char* t : {"CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI"}) glueTask_->addItem(t);
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
  headLr_ = doubleBox(0, 10, 5);
  trf->addRow(tr("Head learning rate"), headLr_);
  epochs_ = intBox(1, 100000);
  trf->addRow(tr("Epochs"), epochs_);
  batch_ = intBox(1, 65536);
  trf->addRow(tr("Batch size"), batch_);
  seed_ = intBox(0, 1 << 30);
  trf->addRow(tr("Seed"), seed_);
  device_ = new QComboBox;
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
  cell(kScale, fourier ? QString::number(m.value("scaling", 150.0)) : lora ? QString::number(m.value("alpha", 16.0)) : "", fourier || lora);
  cell(kLr, type == "head-only" ? "" : QString::number(m.value("lr", 0.0)), type != "head-only");
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
  if (!e.dataset.task.empty()) glueTask_->setCurrentText(q(e.dataset.task));
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
  QStringList targets;
  for (const auto& m : e.methods)
    for (const auto& t : m.target_modules)
      if (!targets.contains(q(t))) targets << q(t);
  targets_->setText(targets.join(' '));
  QStringList trainable;
  for (const auto& t : e.trainable_modules) trainable << q(t);
  trainable_->setText(trainable.join(' '));
  methods_->setRowCount(0);
  for (const auto& m : base_["methods"]) addMethod(m);
  headLr_->setValue(e.head_lr);
  epochs_->setValue(int(e.epochs));
  batch_->setValue(int(e.batch_size));
  seed_->setValue(int(e.seed));
  const int dev = device_->findData(q(e.device));
  device_->setCurrentIndex(dev < 0 ? 0 : dev);
  updateCounts();
}

json ExperimentForm::experiment() const {
  json j = base_;
  j["name"] = name_->text().toStdString();
  const QString preset = model_->currentData().toString();
  if (!j["model"].contains("pretrain") || preset.isEmpty()) {
    j["model"]["preset"] = preset.toStdString();
    j["model"]["checkpoint"] = preset.isEmpty() ? checkpoint_->text().toStdString() : "";
  }
  j["model"]["tokenizer"] = tokenizer_->text().toStdString();
  auto& d = j["dataset"];
  d["kind"] = datasetKind_->currentData().toString().toStdString();
  d["task"] = d["kind"] == "glue" ? glueTask_->currentText().toStdString() : "";
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
  std::vector<std::string> targets, trainable;
  for (const auto& t : targets_->text().split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) targets.push_back(t.toStdString());
  for (const auto& t : trainable_->text().split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) trainable.push_back(t.toStdString());
  j["trainable_modules"] = trainable;
  j["methods"] = json::array();
  for (int row = 0; row < methods_->rowCount(); ++row) {
    if (methods_->item(row, kUse)->checkState() != Qt::Checked) continue;
    json m = json::parse(methods_->item(row, kType)->data(Qt::UserRole).toString().toStdString());
    const auto type = m.value("type", std::string());
    m["name"] = methods_->item(row, kName)->text().toStdString();
    if (type == "fourierft" || type == "lora") m["target_modules"] = targets;
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
  j["head_lr"] = headLr_->value();
  j["epochs"] = epochs_->value();
  j["batch_size"] = batch_->value();
  j["seed"] = seed_->value();
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
  } catch (const Error& e) {
    counts_->setText(tr("Cannot read the checkpoint: %1").arg(q(e.what())));
  }
  updateCounts();
}

void ExperimentForm::chooseDatasetPath(QLineEdit* target, bool folder) {
  const auto path = folder ? QFileDialog::getExistingDirectory(this, tr("Choose a folder"), target->text())
                           : QFileDialog::getOpenFileName(this, tr("Choose a file"), target->text());
  if (!path.isEmpty()) target->setText(path);
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
  } catch (const Error& e) {
    counts_->setText(tr("Model: %1").arg(q(e.what())));
    return;
  }
  adapters::TargetModules targets;
  for (const auto& t : targets_->text().split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) targets.names.push_back(t.toStdString());
  adapters::AdapterConfig matcher;
  matcher.target_modules = targets;
  int64_t totalLinear = 0, matched = 0;
  for (const auto& s : shapes) totalLinear += s.out * s.in;
  QStringList summary;
  const QSignalBlocker block(methods_);
  for (int row = 0; row < methods_->rowCount(); ++row) {
    if (!methods_->item(row, kType) || !methods_->item(row, kTrainable)) continue;
    const auto type = methods_->item(row, kType)->text();
    int64_t count = 0;
    matched = 0;
    for (const auto& s : shapes) {
      if (targets.names.empty() || !matcher.targets(s.name)) continue;
      ++matched;
      if (type == "fourierft") count += std::min<int64_t>(methods_->item(row, kSize)->text().toLongLong(), s.out * s.in);
      if (type == "lora") count += methods_->item(row, kSize)->text().toLongLong() * (s.out + s.in);
    }
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
