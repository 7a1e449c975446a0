#include "fatectl/render/render.h"

namespace fatectl::render {

std::string Object::kind() const { return node["kind"] ? node["kind"].Scalar() : ""; }
std::string Object::name() const { return node["metadata"]["name"] ? node["metadata"]["name"].Scalar() : ""; }
std::string Object::namespace_() const {
  return node["metadata"]["namespace"] ? node["metadata"]["namespace"].Scalar() : "";
}

}  // namespace fatectl::render
