// The bitaxe exporter; see exporter.h for the contract.
#ifndef RIGWATCH_EXPORTERS_BITAXE_H_
#define RIGWATCH_EXPORTERS_BITAXE_H_

#include "exporters/exporter.h"

namespace rigwatch::bitaxe {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

}  // namespace rigwatch::bitaxe

#endif  // RIGWATCH_EXPORTERS_BITAXE_H_
