// Precompiled header for core/, the CLI and the tests: the heavy LibTorch headers, parsed once.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <nlohmann/json.hpp>
