// Torch before Qt, always: Qt's `slots` macro breaks LibTorch's headers (DESIGN.md, traps).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <nlohmann/json.hpp>
#include <QtTest/QtTest>
