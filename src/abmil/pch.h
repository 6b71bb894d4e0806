// Precompiled header of every abmil target: LibTorch is the heavy part.
#pragma once
#include <torch/torch.h>
#include <string>
#include <vector>
