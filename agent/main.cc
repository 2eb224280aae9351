// The only place that reads argv.
#include <string>
#include <vector>

#include "agent/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return rigwatch::RunCli(args);
}
