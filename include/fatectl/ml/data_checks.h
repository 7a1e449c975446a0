#pragma once
// Checks that stop a training job before its data can leak the label or train on nonsense
// (docs/training.md "Data checks"). Each returns "" when the data passes, else the one-line
// reason to refuse the job (naming file and column).
#include <string>
#include <utility>
#include <vector>

#include "fatectl/ml/data.h"

namespace fatectl::ml {

/// A table whose labels are all one class (`what` says which rows, e.g. "the 120 common rows").
std::string one_class_problem(const Dataset& d, const std::string& label_column, const std::string& what);

/// A feature column that is a copy of the label: exactly two distinct values, each occurring with
/// one class only (y, 1 − y, 2y − 1, any relabelling).
std::string label_copy_problem(const Dataset& d, const std::string& label_column);

/// A host table with a feature column named like the guest's label column (it would put the label
/// into the host's part of the model), unless the job says it is a genuine feature.
std::string host_label_name_problem(const Dataset& d, const std::string& label_column, bool allowed);

/// Homo clients must have the same feature columns in the same order; names what differs
/// between `theirs` (described by `who`) and `ours` ("" when equal).
std::string column_difference(const std::vector<std::string>& ours, const std::vector<std::string>& theirs,
                              const std::string& who);

/// Bit strings for the private label-copy check of host columns (hetero_lr_align.cc): the labels
/// ("label" and its complement) and every two-valued feature column of a host (bit = value is
/// the larger of the two), each prefixed with the row count. Pairs of (column name, bits).
std::pair<std::string, std::string> label_bits(const Dataset& d);
std::vector<std::pair<std::string, std::string>> two_valued_columns(const Dataset& d);

}  // namespace fatectl::ml
