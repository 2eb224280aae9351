// The cgminer exporter; see exporter.h for the contract.
#ifndef RIGWATCH_EXPORTERS_CGMINER_H_
#define RIGWATCH_EXPORTERS_CGMINER_H_

#include "exporters/exporter.h"

namespace rigwatch::cgminer {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

}  // namespace rigwatch::cgminer

#endif  // RIGWATCH_EXPORTERS_CGMINER_H_
