#pragma once
// The key tree of each chart generation: which keys a cluster spec may hold, their types,
// which are required and which values are allowed. Data only; validate.h walks it.
#include <memory>
#include <string>
#include <vector>

#include "fatectl/spec/cluster_spec.h"

namespace fatectl::spec::schema {

/// What a value must look like.
enum class Kind {
  Any,       ///< anything (affinity, annotations values, pass-through maps)
  String,    ///< any non-null scalar (numbers and bools are used as text)
  Int,       ///< integer within [min, max]
  Bool,      ///< true or false
  Port,      ///< integer 1–65535
  NodePort,  ///< integer 30000–32767 (the default Kubernetes NodePort range)
  PartyId,   ///< positive integer
  Host,      ///< DNS name or IP address, without a port
  HostPort,  ///< "host:port"
  Quantity,  ///< Kubernetes quantity (1Gi, 500m, 2M)
  Enum,      ///< one of `values` (exact spelling)
  Map,       ///< fixed keys `fields`
  MapOf,     ///< any keys (per key_kind) with values of shape `item`
  List,      ///< list of `item`
};

/// Bit mask of the generations a key exists in.
enum Gen : unsigned {
  G16 = 1u << 0,
  G19 = 1u << 1,
  G20 = 1u << 2,
  GX = 1u << 3,
  GFate = G16 | G19 | G20,
  GAll = GFate | GX,
};
unsigned gen_bit(Generation g);
/// "v1.6.x", "v1.9–v1.11", "v2.0.x", "fate-exchange".
std::string gen_label(unsigned mask);

struct Shape;
using ShapeP = std::shared_ptr<const Shape>;

/// One key of a Map shape.
struct Field {
  std::string name;
  ShapeP shape;
  bool required = false;
  unsigned gens = GAll;  ///< generations that know this key
  std::string moved;     ///< hint when the key is used in a generation that lacks it
};

/// A node of the key tree.
struct Shape {
  Kind kind = Kind::Any;
  std::vector<Field> fields;        ///< Map
  ShapeP item;                      ///< List item / MapOf value
  Kind key_kind = Kind::String;     ///< MapOf: String or PartyId
  bool allow_default_key = false;   ///< MapOf PartyId: also accept the key "default"
  std::vector<std::string> values;  ///< Enum
  long long min = 0, max = 0;       ///< Int bounds
  bool secret = false;              ///< never echo the value in messages
  bool scalar_map = false;          ///< MapOf whose values must be scalars (nodeSelector)
  bool resource_names = false;      ///< MapOf of resources.requests/limits: keys are resource names,
                                    ///< values quantities

  /// The field named `name` visible in generation bit `gen` (nullptr if none).
  const Field* field(const std::string& name, unsigned gen) const;
  /// Human description: "a port (1-65535)", "a list", "one of ClusterIP, NodePort, LoadBalancer".
  std::string describe() const;
};

/// Root shape of a `fate` chart spec (keys masked per generation) and of `fate-exchange`.
const Shape& fate_root();
const Shape& exchange_root();
const Shape& root_for(Generation g);

/// Module names each generation knows.
const std::vector<std::string>& module_names(Generation g);

}  // namespace fatectl::spec::schema
