#define JSON 137
