package kerneltest

// ZooShapes is every distinct convolution of the model zoo at 224x224,
// batch 1, in every ResNeXt form and both bottleneck stride layouts,
// unfused and after the fusion passes
// (generated from the builders; tests in packages variants and
// variants/fusion check the list is complete).
var ZooShapes = []Shape{
	{InC: 1024, H: 14, W: 14, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 1024, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 1024, H: 14, W: 14, OutC: 1024, K: 3, Stride: 1, Pad: 1, Groups: 64},
	{InC: 1024, H: 14, W: 14, OutC: 1024, K: 3, Stride: 2, Pad: 1, Groups: 32},
	{InC: 1024, H: 14, W: 14, OutC: 16, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 2048, K: 1, Stride: 2, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 32, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 14, W: 14, OutC: 64, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 1024, H: 28, W: 28, OutC: 1024, K: 3, Stride: 2, Pad: 1, Groups: 32},
	{InC: 1024, H: 28, W: 28, OutC: 1024, K: 3, Stride: 2, Pad: 1, Groups: 64},
	{InC: 1024, H: 7, W: 7, OutC: 1024, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 1024, H: 7, W: 7, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 128, H: 28, W: 28, OutC: 128, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 128, H: 28, W: 28, OutC: 256, K: 1, Stride: 2, Pad: 0, Groups: 1},
	{InC: 128, H: 28, W: 28, OutC: 256, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 128, H: 28, W: 28, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 128, H: 56, W: 56, OutC: 128, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 128, H: 56, W: 56, OutC: 128, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 128, H: 56, W: 56, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 16, H: 14, W: 14, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 16, H: 14, W: 14, OutC: 16, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 16, H: 28, W: 28, OutC: 16, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 16, H: 28, W: 28, OutC: 16, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 16, H: 28, W: 28, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 16, H: 56, W: 56, OutC: 16, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 2048, H: 14, W: 14, OutC: 2048, K: 3, Stride: 2, Pad: 1, Groups: 32},
	{InC: 2048, H: 14, W: 14, OutC: 2048, K: 3, Stride: 2, Pad: 1, Groups: 64},
	{InC: 2048, H: 7, W: 7, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 2048, H: 7, W: 7, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 2048, H: 7, W: 7, OutC: 2048, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 2048, H: 7, W: 7, OutC: 2048, K: 3, Stride: 1, Pad: 1, Groups: 64},
	{InC: 2048, H: 7, W: 7, OutC: 32, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 2048, H: 7, W: 7, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 2048, H: 7, W: 7, OutC: 64, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 14, W: 14, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 14, W: 14, OutC: 256, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 256, H: 14, W: 14, OutC: 512, K: 1, Stride: 2, Pad: 0, Groups: 1},
	{InC: 256, H: 14, W: 14, OutC: 512, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 256, H: 28, W: 28, OutC: 256, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 256, H: 28, W: 28, OutC: 256, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 256, H: 28, W: 28, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 128, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 16, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 256, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 256, H: 56, W: 56, OutC: 256, K: 3, Stride: 1, Pad: 1, Groups: 64},
	{InC: 256, H: 56, W: 56, OutC: 256, K: 3, Stride: 2, Pad: 1, Groups: 32},
	{InC: 256, H: 56, W: 56, OutC: 4, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 512, K: 1, Stride: 2, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 64, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 256, H: 56, W: 56, OutC: 8, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 3, H: 224, W: 224, OutC: 64, K: 7, Stride: 2, Pad: 3, Groups: 1},
	{InC: 32, H: 14, W: 14, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 32, H: 14, W: 14, OutC: 32, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 32, H: 14, W: 14, OutC: 32, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 32, H: 28, W: 28, OutC: 32, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 32, H: 7, W: 7, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 32, H: 7, W: 7, OutC: 32, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 4, H: 56, W: 56, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 4, H: 56, W: 56, OutC: 4, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 512, H: 14, W: 14, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 14, W: 14, OutC: 512, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 512, H: 14, W: 14, OutC: 512, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 1024, K: 1, Stride: 2, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 128, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 16, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 32, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 28, W: 28, OutC: 512, K: 3, Stride: 1, Pad: 1, Groups: 32},
	{InC: 512, H: 28, W: 28, OutC: 512, K: 3, Stride: 1, Pad: 1, Groups: 64},
	{InC: 512, H: 28, W: 28, OutC: 512, K: 3, Stride: 2, Pad: 1, Groups: 32},
	{InC: 512, H: 28, W: 28, OutC: 8, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 56, W: 56, OutC: 512, K: 3, Stride: 2, Pad: 1, Groups: 32},
	{InC: 512, H: 56, W: 56, OutC: 512, K: 3, Stride: 2, Pad: 1, Groups: 64},
	{InC: 512, H: 7, W: 7, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 512, H: 7, W: 7, OutC: 512, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 64, H: 14, W: 14, OutC: 64, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 128, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 128, K: 1, Stride: 2, Pad: 0, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 128, K: 3, Stride: 2, Pad: 1, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 4, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 64, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 64, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 64, H: 56, W: 56, OutC: 8, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 64, H: 7, W: 7, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 64, H: 7, W: 7, OutC: 64, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 8, H: 28, W: 28, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 8, H: 28, W: 28, OutC: 8, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 8, H: 56, W: 56, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},
	{InC: 8, H: 56, W: 56, OutC: 8, K: 3, Stride: 1, Pad: 1, Groups: 1},
	{InC: 8, H: 56, W: 56, OutC: 8, K: 3, Stride: 2, Pad: 1, Groups: 1},
	// Created by the fusion passes (a test in variants/fusion checks these):
	// SE FC layers as 1x1 convs, merged branches, strides moved off a 1x1.
	{InC: 1024, H: 1, W: 1, OutC: 64, K: 1, Stride: 1, Pad: 0, Groups: 1},   // se-resnet50 layer3.0.se.fc1
	{InC: 128, H: 1, W: 1, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},  // se-resnet50 layer4.0.se.fc2
	{InC: 128, H: 14, W: 14, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1}, // resnet18 layer3.0.downsample.0
	{InC: 16, H: 1, W: 1, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},    // se-resnet50 layer1.0.se.fc2
	{InC: 2048, H: 1, W: 1, OutC: 128, K: 1, Stride: 1, Pad: 0, Groups: 1},  // se-resnet50 layer4.0.se.fc1
	{InC: 256, H: 1, W: 1, OutC: 16, K: 1, Stride: 1, Pad: 0, Groups: 1},    // se-resnet50 layer1.0.se.fc1
	{InC: 256, H: 7, W: 7, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnet18 layer4.0.downsample.0
	{InC: 32, H: 1, W: 1, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},    // se-resnet50 layer2.0.se.fc2
	{InC: 512, H: 1, W: 1, OutC: 32, K: 1, Stride: 1, Pad: 0, Groups: 1},    // se-resnet50 layer2.0.se.fc1
	{InC: 64, H: 1, W: 1, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},   // se-resnet50 layer3.0.se.fc2
	{InC: 64, H: 28, W: 28, OutC: 128, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnet18 layer2.0.downsample.0
	{InC: 64, H: 56, W: 56, OutC: 320, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnet50 layer1.0.conv1+1
	{InC: 64, H: 56, W: 56, OutC: 384, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnext50-32x4d layer1.0.conv1+1
	{InC: 64, H: 56, W: 56, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnext101-32x8d layer1.0.conv1+1
	// With the stride on the first 1x1 of a downsampling bottleneck
	// (--stride-on 1x1), unfused and after the passes.
	{InC: 1024, H: 14, W: 14, OutC: 1024, K: 1, Stride: 2, Pad: 0, Groups: 1}, // unfused, --stride-on 1x1
	{InC: 1024, H: 14, W: 14, OutC: 32, K: 1, Stride: 2, Pad: 0, Groups: 1},   // unfused, --stride-on 1x1
	{InC: 1024, H: 14, W: 14, OutC: 512, K: 1, Stride: 2, Pad: 0, Groups: 1},  // unfused, --stride-on 1x1
	{InC: 1024, H: 14, W: 14, OutC: 64, K: 1, Stride: 2, Pad: 0, Groups: 1},   // unfused, --stride-on 1x1
	{InC: 256, H: 56, W: 56, OutC: 128, K: 1, Stride: 2, Pad: 0, Groups: 1},   // unfused, --stride-on 1x1
	{InC: 256, H: 56, W: 56, OutC: 16, K: 1, Stride: 2, Pad: 0, Groups: 1},    // unfused, --stride-on 1x1
	{InC: 256, H: 56, W: 56, OutC: 256, K: 1, Stride: 2, Pad: 0, Groups: 1},   // unfused, --stride-on 1x1
	{InC: 256, H: 56, W: 56, OutC: 8, K: 1, Stride: 2, Pad: 0, Groups: 1},     // unfused, --stride-on 1x1
	{InC: 512, H: 28, W: 28, OutC: 16, K: 1, Stride: 2, Pad: 0, Groups: 1},    // unfused, --stride-on 1x1
	{InC: 512, H: 28, W: 28, OutC: 256, K: 1, Stride: 2, Pad: 0, Groups: 1},   // unfused, --stride-on 1x1
	{InC: 512, H: 28, W: 28, OutC: 32, K: 1, Stride: 2, Pad: 0, Groups: 1},    // unfused, --stride-on 1x1
	{InC: 512, H: 28, W: 28, OutC: 512, K: 1, Stride: 2, Pad: 0, Groups: 1},   // unfused, --stride-on 1x1
	{InC: 1024, H: 14, W: 14, OutC: 2560, K: 1, Stride: 2, Pad: 0, Groups: 1}, // resnet50 layer4.0.conv1+1
	{InC: 1024, H: 14, W: 14, OutC: 3072, K: 1, Stride: 2, Pad: 0, Groups: 1}, // resnext50-32x4d layer4.0.conv1+1
	{InC: 1024, H: 14, W: 14, OutC: 4096, K: 1, Stride: 2, Pad: 0, Groups: 1}, // resnext101-32x8d layer4.0.conv1+1
	{InC: 1024, H: 7, W: 7, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnext50-32x4d layer4.0.conv1
	{InC: 1024, H: 7, W: 7, OutC: 2560, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnet50 layer4.0.conv1+1
	{InC: 1024, H: 7, W: 7, OutC: 3072, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnext50-32x4d layer4.0.conv1+1
	{InC: 1024, H: 7, W: 7, OutC: 32, K: 1, Stride: 1, Pad: 0, Groups: 1},     // resnext50-32x4d layer4.0.path0.conv1
	{InC: 1024, H: 7, W: 7, OutC: 4096, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnext101-32x8d layer4.0.conv1+1
	{InC: 1024, H: 7, W: 7, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},    // resnet50 layer4.0.conv1
	{InC: 1024, H: 7, W: 7, OutC: 64, K: 1, Stride: 1, Pad: 0, Groups: 1},     // resnext101-32x8d layer4.0.path0.conv1
	{InC: 256, H: 28, W: 28, OutC: 1024, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnext101-32x8d layer2.0.conv1+1
	{InC: 256, H: 28, W: 28, OutC: 128, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnet50 layer2.0.conv1
	{InC: 256, H: 28, W: 28, OutC: 16, K: 1, Stride: 1, Pad: 0, Groups: 1},    // resnext101-32x8d layer2.0.path0.conv1
	{InC: 256, H: 28, W: 28, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnext50-32x4d layer2.0.conv1
	{InC: 256, H: 28, W: 28, OutC: 640, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnet50 layer2.0.conv1+1
	{InC: 256, H: 28, W: 28, OutC: 768, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnext50-32x4d layer2.0.conv1+1
	{InC: 256, H: 28, W: 28, OutC: 8, K: 1, Stride: 1, Pad: 0, Groups: 1},     // resnext50-32x4d layer2.0.path0.conv1
	{InC: 256, H: 56, W: 56, OutC: 1024, K: 1, Stride: 2, Pad: 0, Groups: 1},  // resnext101-32x8d layer2.0.conv1+1
	{InC: 256, H: 56, W: 56, OutC: 640, K: 1, Stride: 2, Pad: 0, Groups: 1},   // resnet50 layer2.0.conv1+1
	{InC: 256, H: 56, W: 56, OutC: 768, K: 1, Stride: 2, Pad: 0, Groups: 1},   // resnext50-32x4d layer2.0.conv1+1
	{InC: 512, H: 14, W: 14, OutC: 1280, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnet50 layer3.0.conv1+1
	{InC: 512, H: 14, W: 14, OutC: 1536, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnext50-32x4d layer3.0.conv1+1
	{InC: 512, H: 14, W: 14, OutC: 16, K: 1, Stride: 1, Pad: 0, Groups: 1},    // resnext50-32x4d layer3.0.path0.conv1
	{InC: 512, H: 14, W: 14, OutC: 2048, K: 1, Stride: 1, Pad: 0, Groups: 1},  // resnext101-32x8d layer3.0.conv1+1
	{InC: 512, H: 14, W: 14, OutC: 256, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnet50 layer3.0.conv1
	{InC: 512, H: 14, W: 14, OutC: 32, K: 1, Stride: 1, Pad: 0, Groups: 1},    // resnext101-32x8d layer3.0.path0.conv1
	{InC: 512, H: 14, W: 14, OutC: 512, K: 1, Stride: 1, Pad: 0, Groups: 1},   // resnext50-32x4d layer3.0.conv1
	{InC: 512, H: 28, W: 28, OutC: 1280, K: 1, Stride: 2, Pad: 0, Groups: 1},  // resnet50 layer3.0.conv1+1
	{InC: 512, H: 28, W: 28, OutC: 1536, K: 1, Stride: 2, Pad: 0, Groups: 1},  // resnext50-32x4d layer3.0.conv1+1
	{InC: 512, H: 28, W: 28, OutC: 2048, K: 1, Stride: 2, Pad: 0, Groups: 1},  // resnext101-32x8d layer3.0.conv1+1
}
