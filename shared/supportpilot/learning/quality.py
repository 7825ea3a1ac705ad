"""Label quality: which verified labels are probably wrong, by confident learning (Northcutt et al., the
method cleanlab implements), written with scikit-learn so the training function carries no extra package.

1. Out-of-fold probabilities: `cross_val_predict` of a hashed n-gram TF-IDF logistic regression over the
   seed corpus and the verified labels, so no example is scored by a model that saw it.
2. Per-class thresholds: t_j = the mean probability of class j over the examples labelled j.
3. An example counts for class j when p_ij >= t_j; of those classes, the most probable one is where it
   lands in the confident joint. A verified label that lands off its given class is flagged, with that
   class as the suggestion and p_ij as the confidence. Seed rows help the fit but are never flagged.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

FOLDS = 5
SEED = 20260


@dataclass(frozen=True)
class LabelIssue:
    index: int  # position in the examples given
    given: str
    suggested: str
    confidence: float


def _pipeline():
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    def hashed(analyzer: str, ngrams: tuple[int, int]) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer=analyzer, ngram_range=ngrams, n_features=2**18, alternate_sign=False, norm=None
        )

    return make_pipeline(
        make_union(hashed("word", (1, 2)), hashed("char_wb", (2, 4))),
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=10.0, max_iter=1000, random_state=SEED),
    )


def find_label_issues(texts: Sequence[str], labels: Sequence[str], candidates: Sequence[int]) -> list[LabelIssue]:
    """Flag the `candidates` (indices into texts/labels) whose label is probably wrong. Classes with fewer
    than FOLDS examples take no part (their examples can be neither checked nor suggested)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if not candidates:  # nothing to check: skip the cross-validation (most of a retrain's time)
        return []
    counts = Counter(labels)
    kept = [i for i, label in enumerate(labels) if counts[label] >= FOLDS]
    if len({labels[i] for i in kept}) < 2:
        return []
    kept_texts = [texts[i] for i in kept]
    kept_labels = np.array([labels[i] for i in kept])
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    probabilities = cross_val_predict(_pipeline(), kept_texts, kept_labels, cv=folds, method="predict_proba")
    classes = np.unique(kept_labels)  # the order of predict_proba's columns
    given = np.searchsorted(classes, kept_labels)
    thresholds = np.array([probabilities[given == j, j].mean() for j in range(len(classes))])
    position = {index: row for row, index in enumerate(kept)}
    issues = []
    for index in candidates:
        row = position.get(index)
        if row is None:
            continue
        confident = np.where(probabilities[row] >= thresholds)[0]
        if confident.size == 0:
            continue
        landed = int(confident[np.argmax(probabilities[row, confident])])
        if landed != given[row]:
            issues.append(
                LabelIssue(index, str(classes[given[row]]), str(classes[landed]), float(probabilities[row, landed]))
            )
    return issues
