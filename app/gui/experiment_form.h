#pragma once
// The experiment form: edits the same JSON document the CLI runs (core/train/experiment.h).
// Fields the form does not show (a pretrain stage, dataset details) are kept as loaded. Beside
// the methods it shows the trainable parameters each would train for the chosen model and
// targets, counted from the model's config before anything is built. No LibTorch here.
#include <QWidget>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTableWidget;

namespace fw::gui {

class ExperimentForm : public QWidget {
  Q_OBJECT
public:
  explicit ExperimentForm(QWidget* parent = nullptr);

  // Loads an experiment (throws fw::Error for a bad one, naming the field).
  void setExperiment(const nlohmann::json& experiment);
  // The experiment as edited; checked with Experiment::fromJson, which throws fw::Error.
  nlohmann::json experiment() const;

  void loadFile(const QString& path);  // throws fw::Error
  void saveFile(const QString& path) const;
  const QString& filePath() const { return file_; }

signals:
  void changed();

private slots:
  void chooseCheckpoint();
  void chooseDatasetPath(QLineEdit* target, bool folder);
  void updateCounts();
  void addMethod(const nlohmann::json& method);

private:
  void build();
  nlohmann::json modelConfig() const;  // the chosen preset's or checkpoint's config.json
  // The target modules a method trains with: the "Target modules" field once it was edited to a
  // list (it applies to every adapter method), else the method's own list (methods may differ),
  // else the field or, empty, every loaded method's targets (a method added in the form).
  std::vector<std::string> targetsFor(const nlohmann::json& method) const;

  nlohmann::json base_ = nlohmann::json::object();
  QString file_;
  QLineEdit* name_;
  QComboBox* model_;  // presets, then "checkpoint folder..."
  QLineEdit* checkpoint_;
  QLineEdit* tokenizer_;
  QComboBox* datasetKind_;
  QComboBox* glueTask_;
  QLineEdit* trainPath_;
  QLineEdit* evalPath_;
  QLineEdit* classes_;
  QLineEdit* textColumn_;
  QLineEdit* pairColumn_;
  QLineEdit* labelColumn_;
  QSpinBox* trainLimit_;
  QSpinBox* maxLength_;
  QComboBox* badRows_;  // dataset.bad_rows: fail or skip
  QLineEdit* targets_;
  QString loadedTargets_;                 // what setExperiment put in targets_
  std::vector<std::string> unionTargets_;  // every loaded method's targets (a new method's default)
  QTableWidget* methods_;  // one row per method: use, name, type, n|r, scaling|alpha, lr, trainable
  QLineEdit* trainable_;
  QLineEdit* headLr_;  // any positive number, in scientific notation too (1e-6)
  QSpinBox* epochs_;
  QSpinBox* batch_;
  QLineEdit* seed_;  // the whole int64 range the experiment accepts
  QComboBox* device_;
  QLabel* counts_;
};

}  // namespace fw::gui
