// SeriesStore: pending buffers moved into storage by takePending, seriesAdded once per series,
// keys split into method and metric, clear, and a stable, distinct colour per method.
#include "widgets/series_store.h"

#include <QtTest/QtTest>

using namespace fw::widgets;

class SeriesStoreTest : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void keysSplitIntoMethodAndMetric() {
    const QString k = SeriesStore::key(QStringLiteral("lora-r8"), QStringLiteral("eval:accuracy"));
    QCOMPARE(k, QStringLiteral("lora-r8/eval:accuracy"));
    QCOMPARE(SeriesStore::methodOf(k), QStringLiteral("lora-r8"));
    QCOMPARE(SeriesStore::metricOf(k), QStringLiteral("eval:accuracy"));
  }

  void pendingPointsMoveIntoStorage() {
    SeriesStore store;
    QSignalSpy added(&store, &SeriesStore::seriesAdded);
    QSignalSpy appended(&store, &SeriesStore::pointsAppended);
    store.append(QStringLiteral("a/loss"), 1, 0.9);
    store.append(QStringLiteral("a/loss"), 2, 0.8);
    store.append(QStringLiteral("b/loss"), {1, 2, 3}, {1.0, 0.7, 0.5});
    QCOMPARE(added.count(), 2);
    QCOMPARE(appended.count(), 3);
    QCOMPARE(store.pendingCount(QStringLiteral("a/loss")), 2);
    QCOMPARE(store.pendingTotal(), 5);
    QVERIFY(store.points(QStringLiteral("a/loss")).isEmpty());

    const SeriesPoints taken = store.takePending(QStringLiteral("a/loss"));
    QCOMPARE(taken.x, (QVector<double>{1, 2}));
    QCOMPARE(taken.y, (QVector<double>{0.9, 0.8}));
    QVERIFY(!store.hasPending(QStringLiteral("a/loss")));
    QCOMPARE(store.points(QStringLiteral("a/loss")).size(), 2);
    QCOMPARE(store.pendingTotal(), 3);
    QVERIFY(store.takePending(QStringLiteral("a/loss")).isEmpty());

    store.append(QStringLiteral("a/loss"), 3, 0.7);
    QCOMPARE(store.count(QStringLiteral("a/loss")), 3);
    QCOMPARE(store.takePending(QStringLiteral("a/loss")).size(), 1);
    QCOMPARE(store.points(QStringLiteral("a/loss")).y, (QVector<double>{0.9, 0.8, 0.7}));
    QCOMPARE(store.seriesNames(), (QStringList{QStringLiteral("a/loss"), QStringLiteral("b/loss")}));
    QCOMPARE(store.methods(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
  }

  // A resumed run writes the steps after its last checkpoint again: a step at or below the
  // series' last one drops the points from that step on, and the new values replace them.
  void repeatedStepsReplaceTheTail() {
    SeriesStore store;
    QSignalSpy dropped(&store, &SeriesStore::pointsDropped);
    const QString loss = QStringLiteral("a/loss");
    for (int i = 1; i <= 5; ++i) store.append(loss, i, 10.0 + i);
    QCOMPARE(store.takePending(loss).size(), 5);

    // Pending only: the tail of the pending buffer goes, storage stays (no signal).
    store.append(loss, 6, 16.0);
    store.append(loss, 7, 17.0);
    store.append(loss, 7, 0.7);
    QCOMPARE(dropped.count(), 0);
    QCOMPARE(store.count(loss), 7);
    QCOMPARE(store.pendingTotal(), 2);
    QCOMPARE(store.takePending(loss).y, (QVector<double>{16.0, 0.7}));

    // Into storage: steps 4..7 go, the stored series is shorter and the plots hear of it.
    store.append(loss, 4, 0.4);
    QCOMPARE(dropped.count(), 1);
    QCOMPARE(dropped.at(0).at(0).toString(), loss);
    QCOMPARE(store.points(loss).x, (QVector<double>{1, 2, 3}));
    QCOMPARE(store.count(loss), 4);
    store.append(loss, {5, 6}, {0.5, 0.6});
    QCOMPARE(store.pendingTotal(), 3);
    QCOMPARE(store.takePending(loss).x, (QVector<double>{4, 5, 6}));
    QCOMPARE(store.points(loss).x, (QVector<double>{1, 2, 3, 4, 5, 6}));
    QCOMPARE(store.points(loss).y, (QVector<double>{11, 12, 13, 0.4, 0.5, 0.6}));

    // A batch that repeats steps inside itself and reaches into storage.
    store.append(loss, {2, 3, 2}, {0.02, 0.03, 0.002});
    QCOMPARE(dropped.count(), 2);
    QCOMPARE(store.pendingTotal(), 1);
    QCOMPARE(store.count(loss), 2);
    store.takePending(loss);
    QCOMPARE(store.points(loss).x, (QVector<double>{1, 2}));
    QCOMPARE(store.points(loss).y, (QVector<double>{11, 0.002}));

    // Other series are untouched; a later step appends as before.
    store.append(QStringLiteral("b/loss"), 1, 1.0);
    store.append(loss, 3, 0.3);
    QCOMPARE(store.count(QStringLiteral("b/loss")), 1);
    QCOMPARE(store.count(loss), 3);
    QCOMPARE(dropped.count(), 2);
  }

  void unknownSeriesAreEmpty() {
    SeriesStore store;
    QVERIFY(store.points(QStringLiteral("none/loss")).isEmpty());
    QVERIFY(store.takePending(QStringLiteral("none/loss")).isEmpty());
    QCOMPARE(store.count(QStringLiteral("none/loss")), 0);
  }

  void clearDropsEverything() {
    SeriesStore store;
    QSignalSpy cleared(&store, &SeriesStore::cleared);
    store.append(QStringLiteral("a/loss"), 1, 1);
    store.clear();
    QCOMPARE(cleared.count(), 1);
    QVERIFY(!store.contains(QStringLiteral("a/loss")));
    QCOMPARE(store.pendingTotal(), 0);
    QVERIFY(store.methods().isEmpty());
  }

  void methodColoursAreStableAndDistinct() {
    SeriesStore store;
    const QColor fourier = store.methodColor(QStringLiteral("fourierft"));
    const QColor lora = store.methodColor(QStringLiteral("lora"));
    store.append(QStringLiteral("head-only/loss"), 1, 1);
    const QColor head = store.methodColor(QStringLiteral("head-only"));
    QCOMPARE(store.methodColor(QStringLiteral("fourierft")), fourier);
    QCOMPARE(store.methodColor(QStringLiteral("lora")), lora);
    QVERIFY(fourier != lora && lora != head && fourier != head);
    QCOMPARE(fourier, SeriesStore::paletteColor(0));  // Tableau blue first
    store.clear();  // colours survive a clear ...
    QCOMPARE(store.methodColor(QStringLiteral("lora")), lora);
    store.resetColors();  // ... but not a reset
    QCOMPARE(store.methodColor(QStringLiteral("lora")), SeriesStore::paletteColor(0));
    store.setMethodColor(QStringLiteral("full"), Qt::black);
    QCOMPARE(store.methodColor(QStringLiteral("full")), QColor(Qt::black));
  }

  void paletteHasManyDistinctColours() {
    QSet<QRgb> seen;
    for (int i = 0; i < 20; ++i) seen.insert(SeriesStore::paletteColor(i).rgb());
    QCOMPARE(seen.size(), 20);
  }
};

QTEST_MAIN(SeriesStoreTest)
#include "tst_series_store.moc"
