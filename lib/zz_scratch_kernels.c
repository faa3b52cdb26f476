/* SCRATCH ONLY: scalar reference kernels until the activation branch lands. */
#include <math.h>
#include "kernels.h"
double soma_activation_default_alpha(soma_activation f){ return f==SOMA_ACTIVATION_LEAKY_RELU?0.01: f==SOMA_ACTIVATION_ELU?1.0:0.0;}
static double sig(double x){ return x>=0? 1/(1+exp(-x)) : exp(x)/(1+exp(x)); }
void soma__act_forward(soma_activation f, double alpha, size_t n, const double *z, double *a){
  if (f==SOMA_ACTIVATION_SOFTMAX){ double mx=-INFINITY; for(size_t i=0;i<n;i++) mx=z[i]>mx?z[i]:mx; double s=0; for(size_t i=0;i<n;i++){a[i]=exp(z[i]-mx); s+=a[i];} for(size_t i=0;i<n;i++) a[i]/=s; return;}
  for(size_t i=0;i<n;i++){ double x=z[i]; double y;
    switch(f){case SOMA_ACTIVATION_SIGMOID: y=sig(x);break; case SOMA_ACTIVATION_TANH: y=tanh(x);break;
    case SOMA_ACTIVATION_RELU: y=x>0?x:0;break; case SOMA_ACTIVATION_LEAKY_RELU: y=x>0?x:alpha*x;break;
    case SOMA_ACTIVATION_ELU: y=x>0?x:alpha*expm1(x);break; case SOMA_ACTIVATION_SWISH: y=x*sig(x);break; default: y=x;}
    a[i]=y;}
}
void soma__act_forward_bias(soma_activation f, double alpha, size_t n, double *z, const double *b, double *a){
  for(size_t i=0;i<n;i++) z[i]+=b[i]; soma__act_forward(f,alpha,n,z,a);}
void soma__act_backward(soma_activation f, double alpha, size_t n, const double *z, const double *a, const double *da, double *dz){
  if (f==SOMA_ACTIVATION_SOFTMAX){ double s=0; for(size_t i=0;i<n;i++) s+=a[i]*da[i]; for(size_t i=0;i<n;i++) dz[i]=a[i]*(da[i]-s); return;}
  for(size_t i=0;i<n;i++){ double x=z[i], d;
   switch(f){case SOMA_ACTIVATION_SIGMOID: d=a[i]*(1-a[i]);break; case SOMA_ACTIVATION_TANH: d=1-a[i]*a[i];break;
   case SOMA_ACTIVATION_RELU: d=x>0;break; case SOMA_ACTIVATION_LEAKY_RELU: d=x>0?1:alpha;break;
   case SOMA_ACTIVATION_ELU: d=x>0?1:alpha*exp(x);break; case SOMA_ACTIVATION_SWISH: {double s=sig(x); d=s+x*s*(1-s);}break; default: d=1;}
   dz[i]=da[i]*d;}
}
soma_status soma__loss_check_targets(soma_loss loss, const soma_matrix *Y){(void)loss;(void)Y;return SOMA_OK;}
double soma__loss_sum(soma_loss loss, const soma_matrix *P, const soma_matrix *Y, soma_matrix *dP){
  double s=0; size_t k=P->cols;
  for(size_t i=0;i<P->rows;i++) for(size_t j=0;j<k;j++){ double p=*soma_matrix_at(P,i,j), y=*soma_matrix_at(Y,i,j), g;
    if(loss==SOMA_LOSS_MSE){ s+=(p-y)*(p-y)/k; g=2*(p-y)/k;}
    else if(loss==SOMA_LOSS_BCE){ double q=p<1e-15?1e-15:p>1-1e-15?1-1e-15:p; s+=-(y*log(q)+(1-y)*log(1-q))/k; g=(p<1e-15||p>1-1e-15)?0:(p-y)/(k*p*(1-p));}
    else { double q=p<1e-15?1e-15:p>1-1e-15?1-1e-15:p; s+=-y*log(q); g=(p<1e-15||p>1-1e-15)?0:-y/p;}
    if(dP) *soma_matrix_at(dP,i,j)=g;}
  return s;}
double soma__loss_logits_sum(soma_loss loss, const soma_matrix *Z, const soma_matrix *Y, soma_matrix *P, soma_matrix *dZ){
  double s=0; size_t k=Z->cols;
  for(size_t i=0;i<Z->rows;i++){
    const double *z=soma_matrix_at(Z,i,0), *y=soma_matrix_at(Y,i,0);
    if(loss==SOMA_LOSS_BCE){ for(size_t j=0;j<k;j++){ double x=z[j]; s+=(fmax(x,0)-x*y[j]+log1p(exp(-fabs(x))))/k; double p=sig(x); if(P)*soma_matrix_at(P,i,j)=p; if(dZ)*soma_matrix_at(dZ,i,j)=(p-y[j])/k;}}
    else { double mx=-INFINITY; for(size_t j=0;j<k;j++) mx=z[j]>mx?z[j]:mx; double se=0; for(size_t j=0;j<k;j++) se+=exp(z[j]-mx); double lse=mx+log(se);
      double pr[4096]; for(size_t j=0;j<k;j++){ pr[j]=exp(z[j]-lse); s+=-y[j]*(z[j]-lse);} for(size_t j=0;j<k;j++){ if(P)*soma_matrix_at(P,i,j)=pr[j]; if(dZ)*soma_matrix_at(dZ,i,j)=pr[j]-y[j];}}
  }
  return s;}
const char *soma_activation_name(soma_activation f){ static const char*n[]={"identity","sigmoid","tanh","relu","leaky_relu","elu","swish","softmax"}; return (unsigned)f<8?n[f]:NULL;}
const char *soma_loss_name(soma_loss l){ static const char*n[]={"mse","bce","ce"}; return (unsigned)l<3?n[l]:NULL;}
