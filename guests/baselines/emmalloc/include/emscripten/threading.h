// Shim: unused in single-threaded builds.
#pragma once
